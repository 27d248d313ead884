"""Width optimizers: one module per algorithm, exported from nbs/1x_<algorithm>.ipynb."""
