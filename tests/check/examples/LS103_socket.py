import socket


async def resolve(host):
    return socket.gethostbyname(host)  # LS103


async def talk():
    sock = socket.create_connection(("example.com", 80))  # LS103
    sock.sendall(b"ping")  # LS103
    return sock.recv(10)  # LS103


async def raw():
    sock = socket.socket()
    sock.connect(("example.com", 80))  # LS103
