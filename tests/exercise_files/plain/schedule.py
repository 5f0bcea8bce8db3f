"""An honest ReduceOnPlateau."""


class ReduceOnPlateau:
    def __init__(self, patience=2, factor=10.0, threshold=1e-3):
        self.patience, self.factor, self.threshold = patience, factor, threshold
        self.best = float("inf")
        self.bad_epochs = 0

    def step(self, optimizer, val_error):
        if val_error < self.best - self.threshold:
            self.best, self.bad_epochs = val_error, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs > self.patience:
                optimizer.lr /= self.factor
                self.bad_epochs = 0
        return optimizer.lr
