"""Tests of the lab app's seed-002 routes: in-process where the server is not the subject, on
real uvicorn servers where the loop's blocking is."""
