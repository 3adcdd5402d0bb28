import smtplib


def send(message):
    with smtplib.SMTP("localhost") as server:  # LS108
        server.send_message(message)  # LS108


async def notify(message):
    send(message)  # OK: reported at the blocking call
