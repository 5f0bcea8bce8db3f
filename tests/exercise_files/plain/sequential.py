"""An honest solution (loops, tests/test_exercises.py edits it into mistakes): a chain of layers (the chain rule)."""

from minialexnet.layers.base import Layer


class Sequential(Layer):
    def __init__(self, *layers):
        # Layer.__init__ is not called: a Sequential's params and grads are its layers'
        self.name, self.cache = "Sequential", None
        self.layers = list(layers)  # [(name, layer), ...]

    @property
    def params(self):
        return {f"{name}.{key}": value for name, layer in self.layers for key, value in layer.params.items()}

    @property
    def grads(self):
        return {f"{name}.{key}": value for name, layer in self.layers for key, value in layer.grads.items()}

    def forward(self, x, train=True):
        for _, layer in self.layers:
            x = layer.forward(x, train=train)
        return x

    def backward(self, dout):
        for _, layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
