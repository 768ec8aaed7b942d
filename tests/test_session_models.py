"""The Session keeps a bounded record of models: the newest few and the held results' own."""
from app.session import KEPT_MODELS, Session


def _info(generation: int) -> dict:
    return {"generation": generation, "arch": f"net{generation}", "kernels": object()}


def test_a_long_run_of_model_switches_keeps_a_few_and_the_held_results_model(qtbot):
    s = Session()
    s.set_model(_info(1))
    s.set_fields(1, {"conv": {"size": 3}})
    s.request(7, ["cat.png"])
    s.start_image(7, {"path": "cat.png", "generation": 1})
    for g in range(2, 30):
        s.set_model(_info(g))
        s.set_fields(g, {"conv": {"size": g}})
    assert s.results_model["arch"] == "net1" and s.fields == {"conv": {"size": 3}}
    assert sorted(s._models) == [1, *range(30 - KEPT_MODELS, 30)]
    assert sorted(s._fields) == sorted(s._models)
    assert "kernels" in s._models[1] and "kernels" in s._models[29]
    assert all("kernels" not in s._models[g] for g in range(30 - KEPT_MODELS, 29))

    # An answer asked under a recent model still finds that model's info.
    s.request(8, ["dog.png"])
    s.start_image(8, {"path": "dog.png", "generation": 28})
    assert s.results_model["arch"] == "net28" and s.fields == {"conv": {"size": 28}}
    s.set_model(_info(30))
    assert sorted(s._models) == sorted({28, *range(31 - KEPT_MODELS, 31)}) and 1 not in s._fields
