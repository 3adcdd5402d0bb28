"""Sync methods whose class has an async twin: the sync one blocks."""

from fastapi import FastAPI

app = FastAPI()


class Base:
    async def aquery(self, text):
        return text


class Agent(Base):
    def run(self, prompt):
        return self.backend(prompt)

    async def arun(self, prompt):
        return prompt

    def query(self, text):
        return text

    def get(self, key):
        return key

    async def async_get(self, key):
        return key

    def name(self):
        return "agent"

    def aname(self):
        return "sync twin does not count"


@app.post("/ask")
async def ask(prompt: str):
    agent = Agent()
    agent.run(prompt)  # LS111 [route: POST /ask]
    agent.query(prompt)  # LS111
    agent.get(prompt)  # LS111
    agent.name()  # OK
    return await agent.arun(prompt)  # OK


@app.post("/sync")
def sync_route(prompt: str):
    return Agent().run(prompt)  # OK
