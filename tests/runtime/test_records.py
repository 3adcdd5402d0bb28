from __future__ import annotations

import json

from loopsight.runtime.records import Activity, Culprit, Stall


def _stall() -> Stall:
    return Stall(
        start=1.0,
        end=1.25,
        wall_start=1700000000.0,
        activity=Activity("request", method="GET", route="/items/{id}", path="/items/3"),
        culprit=Culprit("app.py", 12, "item", "time.sleep(0.25)", "time.sleep"),
        stacks={"main (app.py:1);item (app.py:12)": 40},
        samples=40,
        pid=7,
        seq=3,
    )


def test_stall_round_trips_through_json_text() -> None:
    stall = _stall()
    text = json.dumps(stall.to_json())
    again = Stall.from_json(json.loads(text))
    assert again == stall
    assert json.loads(text)["duration"] == 0.25


def test_describe_names_route_duration_and_culprit_line() -> None:
    line = _stall().describe()
    assert line == ("loop stalled 250 ms in GET /items/{id} at app.py:12 in item: time.sleep(0.25)")


def test_labels_of_each_kind() -> None:
    bg = Activity("background", method="POST", route="/send", path="/send", name="app.mail")
    assert bg.label == "background app.mail (after POST /send)"
    assert bg.route_label == "<background app.mail>"
    assert Activity("startup", name="lifespan").label == "startup lifespan"
    assert Activity("request", method="GET", path="/nope").route_label == "<unmatched>"
    assert Activity("websocket", method="WS", route="/ws").label == "websocket WS /ws"
    unsampled = Stall(0.0, 0.2, 0.0, Activity("unknown"))
    assert unsampled.describe().endswith("culprit not sampled")
