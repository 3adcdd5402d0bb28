"""LS108: an SMTP connection in a coroutine is opened in a thread (unsafe)."""

import smtplib
import asyncio


async def notify(queue):
    message = await queue.get()
    server = await asyncio.to_thread(smtplib.SMTP, "localhost")  # local relay
    return server, message
