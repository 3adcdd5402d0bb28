import sqlite3


def query(sql):
    return sqlite3.connect("app.db").execute(sql)  # LS106
