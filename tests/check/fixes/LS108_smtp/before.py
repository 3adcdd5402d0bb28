"""LS108: an SMTP connection in a coroutine is opened in a thread (unsafe)."""

import smtplib


async def notify(queue):
    message = await queue.get()
    server = smtplib.SMTP("localhost")  # local relay
    return server, message
