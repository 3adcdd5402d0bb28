import requests


def check_token(token):
    return requests.get("https://auth", params={"t": token}).ok  # LS102
