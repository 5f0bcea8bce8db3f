"""Exercise: a chain of layers and backpropagation through it, the chain rule (Figure 2).

    Sequential(("fc1", Linear(4, 8)), ("relu1", ReLU()), ("fc2", Linear(8, 3)))

forward:  x_0 = x, x_{l+1} = layer_l.forward(x_l, train), the output is the last x.
backward: the loss L depends on x_l only through x_{l+1} = layer_l(x_l), so
          dL/dx_l = (dL/dx_{l+1} pushed back through layer_l) = layer_l.backward(dL/dx_{l+1}).
          Start from dout = dL/d(output) and go through the layers in REVERSE order; each
          layer fills its own grads on the way. Return dL/dx.
Every layer.backward is called once, after the forward of the same batch, with the gradient
of that layer's own output. ``params`` and ``grads`` (given) name each parameter
"<layer>.<key>", e.g. "fc1.W", the names the optimizer uses.

Check it:  ``exercises.check("sequential")``
"""

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
        """x -> the last layer's output; pass ``train`` to every layer."""
        # ---- your code ----
        raise NotImplementedError("write Sequential.forward")
        # ---- end of your code ----

    def backward(self, dout):
        """dout (shape of the output) -> dx (shape of x), through every layer in reverse."""
        # ---- your code ----
        raise NotImplementedError("write Sequential.backward")
        # ---- end of your code ----
