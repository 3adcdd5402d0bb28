import smtplib


def send(message):
    with smtplib.SMTP("localhost") as server:
        server.send_message(message)


async def notify(message):
    send(message)  # LS108
