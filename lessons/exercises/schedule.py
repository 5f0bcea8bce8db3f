"""Exercise (lesson 8): the paper's learning-rate schedule (Section 5).

"The heuristic which we followed was to divide the learning rate by 10 when the validation
error rate stopped improving with the current learning rate."

step(optimizer, val_error) is called once per epoch. An epoch improves when its validation
error is below the best so far by more than ``threshold``; then it becomes the best and the
count of epochs without improvement starts again at 0. Otherwise the count goes up, and when
it exceeds ``patience``, divide optimizer.lr by ``factor`` and start counting again from 0.
Return optimizer.lr.

Check it:  ``exercises.check("schedule")``
"""


class ReduceOnPlateau:
    def __init__(self, patience=2, factor=10.0, threshold=1e-3):
        self.patience, self.factor, self.threshold = patience, factor, threshold
        self.best = float("inf")
        self.bad_epochs = 0

    def step(self, optimizer, val_error):
        """Record one epoch's validation error; return the (possibly divided) learning rate."""
        # ---- your code ----
        raise NotImplementedError("write ReduceOnPlateau.step")
        # ---- end of your code ----
