"""The lifecycle of a model: the steps (train, evaluate, register, alias), `aip run` and the canary demo."""
