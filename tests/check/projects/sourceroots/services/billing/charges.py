import requests


def charge(amount):
    return requests.post("https://pay.example.com", json={"amount": amount})  # LS102
