# loopsight-config: select=LS,possible
class Index:
    def query(self, text):
        return text

    async def aquery(self, text):
        return text


async def search(text):
    index = Index()
    index.query(text)  # LS111
    return await index.aquery(text)  # OK
