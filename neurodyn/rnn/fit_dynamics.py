"""Fit a leaky RNN to recorded multivariate time series with generalised teacher forcing.

The network's hidden state ``h_t`` evolves by the :class:`~neurodyn.rnn.LeakyRNN`
update and is read out linearly, ``x_hat_t = B h_t + c``. During training the
state is pulled towards the data after every step (generalised teacher
forcing, Hess et al. 2023):

``h_t <- h_t + gamma * B^+ (x_t - x_hat_t)``

where ``B^+`` is the pseudo-inverse of the read-out, so that ``gamma = 1``
replaces the observed part of the state by the data (classical teacher
forcing) and ``gamma = 0`` lets the network run freely. Forcing keeps the
gradients of chaotic or long sequences bounded; ``gamma`` is annealed from
``forcing`` to ``forcing_end`` so that the final network also runs well on its
own, or, with ``forcing="adaptive"``, set from the network's own Jacobians
(adaptive GTF, Hess et al. 2023): every ``adapt_every`` steps
``gamma = max(0, 1 - 1 / G)`` with ``G`` the geometric mean of the spectral norms
``||dF/dh||`` of the model's step along the forced training trajectories, the
smallest forcing under which the forced Jacobian products ``((1 - gamma) J)``
cannot grow (in the observed subspace: the forcing acts through the read-out).
The fitted model's free-running activity (:meth:`DynamicsRNN.simulate`)
can then be compared with the recording by any estimator of the package.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._score import Score
from .._torch import (
    TorchEstimatorMixin,
    check_random_state,
    random_normal,
    seed_from_random_state,
    to_tensor,
)
from .._validation import (
    check_array,
    check_finite,
    check_float_range,
    check_in,
    check_positive_int,
    check_probability,
    check_recordings,
    check_scalar,
)
from .models import LeakyRNN
from .training import gradient_step

__all__ = ["DynamicsRNN", "fit_dynamics"]


def _refuse_sparse(X: Any, name: str) -> None:
    if type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a scipy.sparse {type(X).__name__}; sparse input is not supported "
                        f"(pass {name}.toarray())")


def _force(h: torch.Tensor, x: torch.Tensor, B: torch.Tensor, c: torch.Tensor,
           B_pinv: torch.Tensor, gamma: float) -> torch.Tensor:
    """Move states ``h`` (batch, H) towards the states consistent with observations ``x``."""
    residual = x - (h @ B.T + c)
    return h + gamma * residual @ B_pinv.T


class DynamicsRNN(TorchEstimatorMixin, BaseEstimator):
    """Leaky RNN fitted to recorded dynamics by generalised teacher forcing.

    Parameters
    ----------
    n_units : int
        Hidden units H (at least the number of recorded channels).
    nonlinearity : {"tanh", "relu"}
    tau_init : float
        Initial single-unit time constant (in samples); trainable when ``train_tau``.
    train_tau : bool
    forcing : float in [0, 1] or "adaptive"
        Forcing strength ``gamma`` at the first epoch (linear schedule to ``forcing_end``), or
        ``"adaptive"``: ``gamma = max(0, 1 - 1/G)`` from the Jacobians (see the module notes).
    forcing_end : float in [0, 1]
        Forcing strength at the last epoch (ignored when ``forcing="adaptive"``).
    adapt_every : int
        Steps between two estimates of the adaptive ``gamma`` (``forcing="adaptive"``).
    seq_len : int
        Length of the training subsequences (time steps per backpropagation window).
    batch_size : int
        Subsequences per gradient step.
    n_epochs : int
        Gradient steps (0 leaves the network at its initialisation: an untrained baseline).
    lr : float
        Adam learning rate.
    grad_clip : float or None
        Gradient-norm clipping (None: none).
    standardize : bool
        z-score every channel (with the training mean/sd) before fitting.
    tol : float
        Stop when the relative improvement of the loss averaged over 20 steps falls below ``tol``.
    random_state : None, int or Generator
    device : {"auto", "cpu", "cuda"}
    dtype : torch dtype or str
        float32 by default.
    verbose : bool
        tqdm progress bar.

    Attributes
    ----------
    model_ : LeakyRNN
        The fitted network; head 0 is the linear read-out ``B h + c``.
    loss_curve_ : ndarray of shape ``(n_iter_,)``
        Forced one-step prediction error per gradient step (standardised units).
    forcing_curve_ : ndarray of shape ``(n_iter_,)``
        The forcing strength ``gamma`` used at every gradient step.
    n_iter_ : int
    converged_ : bool
    mean_, scale_ : ndarray (n_channels,)
        Standardisation of the channels.
    n_channels_, n_inputs_ : int
    n_features_in_ : int
        Number of recorded channels (``n_channels_``).

    References
    ----------
    Hess, Monfared, Brenner & Durstewitz (2023). Generalized teacher forcing for
    learning chaotic dynamics. ICML. Williams & Zipser (1989). A learning
    algorithm for continually running fully recurrent neural networks.
    Neural Comput. 1:270-280.

    Examples
    --------
    >>> from neurodyn.rnn import DynamicsRNN
    >>> t = np.linspace(0, 20 * np.pi, 400)
    >>> X = np.column_stack([np.sin(t), np.cos(t), np.sin(2 * t)])   # (n_timepoints, n_units)
    >>> untrained = DynamicsRNN(n_units=16, seq_len=20, n_epochs=0, random_state=0, device="cpu")
    >>> model = DynamicsRNN(n_units=16, seq_len=20, n_epochs=30, random_state=0, device="cpu")
    >>> model.fit(X).n_features_in_
    3
    >>> bool(model.score(X) < 0.2 * untrained.fit(X).score(X))   # one-step error vs untrained
    True
    """

    def __init__(self, n_units: int = 64, nonlinearity: str = "tanh", tau_init: float = 2.0,
                 train_tau: bool = True, forcing: float = 0.5, forcing_end: float = 0.1,
                 seq_len: int = 30, batch_size: int = 32, n_epochs: int = 300, lr: float = 1e-2,
                 grad_clip: float = 5.0, standardize: bool = True, tol: float = 0.0,
                 random_state: Any = None, device: Any = "auto", dtype: Any = "float32",
                 verbose: bool = False, adapt_every: int = 10):
        self.n_units = n_units
        self.nonlinearity = nonlinearity
        self.tau_init = tau_init
        self.train_tau = train_tau
        self.forcing = forcing
        self.forcing_end = forcing_end
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.lr = lr
        self.grad_clip = grad_clip
        self.standardize = standardize
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose
        self.adapt_every = adapt_every

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        check_positive_int(self.n_units, "n_units")
        check_positive_int(self.seq_len, "seq_len", minimum=2)
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.n_epochs, "n_epochs", minimum=0)
        check_in(self.nonlinearity, "nonlinearity", ("tanh", "relu"))
        if not (isinstance(self.forcing, str) and self.forcing == "adaptive"):
            if isinstance(self.forcing, str):
                raise ValueError(f"forcing must be a number in [0, 1] or 'adaptive'; got {self.forcing!r}")
            check_probability(self.forcing, "forcing")
        check_probability(self.forcing_end, "forcing_end")
        check_positive_int(self.adapt_every, "adapt_every")
        check_scalar(self.tau_init, "tau_init", low=0.0, low_inclusive=False)
        check_scalar(self.lr, "lr", low=0.0, high=1e6, low_inclusive=False)
        check_scalar(self.grad_clip, "grad_clip", low=0.0, low_inclusive=False, allow_none=True)
        check_scalar(self.tol, "tol", low=0.0)

    def _check_inputs(self, inputs: Any, recs: list[np.ndarray], name: str = "inputs"):
        if inputs is None:
            return [np.zeros((r.shape[0], 1)) for r in recs], 0
        ins = check_recordings(inputs, name, min_timepoints=1, allow_constant=True)
        if len(ins) != len(recs):
            raise ValueError(f"{name} must give one input series per recording ({len(recs)}); got {len(ins)}")
        for i, (u, r) in enumerate(zip(ins, recs, strict=True)):
            if u.shape[0] != r.shape[0]:
                raise ValueError(f"{name}[{i}] has {u.shape[0]} time steps but the recording has {r.shape[0]}")
        return ins, ins[0].shape[1]

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, *, inputs: Any = None) -> DynamicsRNN:
        """Fit to recordings.

        Parameters
        ----------
        X : array-like (n_timepoints, n_channels), (n_recordings, n_timepoints, n_channels)
            or a list of 2-D arrays (lengths may differ)
            Recorded activity (e.g. region-level BOLD, binned firing rates). A
            recording with fewer time points than channels raises a
            :class:`~neurodyn._validation.LayoutWarning` (probably transposed).
        y : None
            Ignored (the model is unsupervised); present for scikit-learn pipelines.
        inputs : same layout with (n_timepoints, n_inputs), optional, keyword-only
            External inputs aligned with the recordings.
        """
        self._check_params()
        self._setup_torch()
        _refuse_sparse(X, "X")
        recs = check_recordings(X, "X", min_timepoints=int(self.seq_len) + 1, warn_transposed=True)
        ins, n_in = self._check_inputs(inputs, recs)
        n_ch = recs[0].shape[1]
        if self.n_units < n_ch:
            raise ValueError(f"n_units must be at least the number of channels ({n_ch}); got {self.n_units}")
        stacked = np.concatenate(recs, axis=0)
        if self.standardize:
            # the standard deviation of (X - mean) / max|X - mean|: no overflow of the squares
            mean = stacked.mean(0)
            centred = stacked - mean
            peak = np.maximum(centred.max(0), -centred.min(0))
            peak = np.where(peak > 0, peak, 1.0)
            self.mean_, self.scale_ = mean, peak * (centred / peak).std(0)
        else:
            self.mean_, self.scale_ = np.zeros(n_ch), np.ones(n_ch)
            check_float_range(stacked, "X", str(self.dtype_).replace("torch.", ""))
        self.n_channels_, self.n_inputs_ = n_ch, n_in
        self.n_features_in_ = n_ch
        self._uses_inputs = inputs is not None
        dev, dt = self.device_, self.dtype_
        data = [to_tensor((r - self.mean_) / self.scale_, device=dev, dtype=dt) for r in recs]
        drive = [to_tensor(u, device=dev, dtype=dt) for u in ins]

        seed = seed_from_random_state(self.random_state)
        rng = check_random_state(seed)
        model = LeakyRNN(n_units=int(self.n_units), n_inputs=max(n_in, 1), n_outputs=n_ch,
                         nonlinearity=self.nonlinearity, tau_init=float(self.tau_init),
                         train_tau=bool(self.train_tau), init="gaussian", gain=0.9,
                         random_state=seed, device=dev, dtype=dt)
        self.model_ = model
        opt = torch.optim.Adam(model.parameters(), lr=float(self.lr))
        L = int(self.seq_len)
        starts = [(i, s) for i, r in enumerate(data) for s in range(r.shape[0] - L)]
        losses: list[float] = []
        self.converged_ = False
        epochs = range(int(self.n_epochs))
        if self.verbose:
            from tqdm.auto import tqdm
            epochs = tqdm(epochs, desc="fit_dynamics")
        n_ep = max(int(self.n_epochs) - 1, 1)
        adaptive = isinstance(self.forcing, str)
        gammas: list[float] = []
        gamma = 1.0
        for ep in epochs:
            pick = rng.integers(0, len(starts), size=int(self.batch_size))
            seg = torch.stack([data[starts[k][0]][starts[k][1]:starts[k][1] + L + 1] for k in pick], 1)
            useg = torch.stack([drive[starts[k][0]][starts[k][1]:starts[k][1] + L + 1] for k in pick], 1)
            if adaptive:
                if ep % int(self.adapt_every) == 0:
                    gamma = self._adaptive_gamma(seg, useg, gamma)
            else:
                gamma = float(self.forcing) + (float(self.forcing_end) - float(self.forcing)) * ep / n_ep
            gammas.append(gamma)
            loss = self._forced_loss(seg, useg, gamma)
            gradient_step(model, opt, loss, None if self.grad_clip is None else float(self.grad_clip))
            losses.append(float(loss.detach()))
            if self.tol > 0 and len(losses) >= 40:
                prev, last = np.mean(losses[-40:-20]), np.mean(losses[-20:])
                if prev - last < self.tol * abs(prev):
                    self.converged_ = True
                    break
        self.loss_curve_ = np.asarray(losses)
        self.forcing_curve_ = np.asarray(gammas, dtype=float)
        self.n_iter_ = len(losses)
        return self

    def jacobian_growth(self, seg: torch.Tensor, useg: torch.Tensor, gamma: float,
                        max_states: int = 256) -> float:
        """Geometric mean ``G`` of ``||dF/dh||_2`` along the trajectories forced with ``gamma``.

        ``seg``/``useg``: standardised observations and inputs ``(L + 1, batch, .)``; at most
        ``max_states`` visited states (evenly spread) enter the mean.
        """
        model = self.model_
        B, c, B_pinv = self._readout_parts()
        with torch.no_grad():
            h = _force(torch.zeros(seg.shape[1], model.n_units, device=seg.device, dtype=seg.dtype),
                       seg[0], B, c, B_pinv, 1.0)
            visited, inputs = [], []
            # the forced update is nonlinear and sequential
            for t in range(1, seg.shape[0]):
                visited.append(h)
                inputs.append(useg[t])
                h = _force(model.step(h, useg[t]), seg[t], B, c, B_pinv, gamma)
            hs, us = torch.cat(visited), torch.cat(inputs)
            keep = torch.linspace(0, hs.shape[0] - 1, min(max_states, hs.shape[0]), device=hs.device).long()
            hs, us = hs[keep], us[keep]
        jac = torch.func.vmap(torch.func.jacrev(lambda hh, uu: model.step(hh[None], uu[None])[0]))(hs, us)
        norms = torch.linalg.matrix_norm(jac.detach().to(torch.float64), ord=2)
        return float(torch.exp(torch.log(norms.clamp(min=1e-300)).mean()))

    def _adaptive_gamma(self, seg: torch.Tensor, useg: torch.Tensor, gamma: float) -> float:
        """``max(0, 1 - 1/G)`` (Hess et al. 2023), G along trajectories forced with the current gamma."""
        growth = self.jacobian_growth(seg, useg, gamma)
        if not np.isfinite(growth):
            raise ValueError("the model's Jacobians are not finite; lower lr or use grad_clip")
        return float(min(1.0, max(0.0, 1.0 - 1.0 / growth))) if growth > 0 else 0.0

    def _readout_parts(self):
        head = self.model_.heads[0]
        B, c = head.weight, head.bias
        return B, c, torch.linalg.pinv(B)

    def _forced_loss(self, seg: torch.Tensor, useg: torch.Tensor, gamma: float) -> torch.Tensor:
        """Mean squared one-step prediction error along forced trajectories ``(L + 1, batch, n_ch)``."""
        B, c, B_pinv = self._readout_parts()
        h = _force(torch.zeros(seg.shape[1], self.model_.n_units, device=seg.device, dtype=seg.dtype),
                   seg[0], B, c, B_pinv, 1.0)
        total = 0.0
        # the forced update is nonlinear and sequential, so the time loop stays
        for t in range(1, seg.shape[0]):
            h = self.model_.step(h, useg[t])
            pred = h @ B.T + c
            total = total + ((pred - seg[t]) ** 2).mean()
            h = _force(h, seg[t], B, c, B_pinv, gamma)
        return total / (seg.shape[0] - 1)

    # ------------------------------------------------------------------ use
    def initial_state(self, x0: Any) -> np.ndarray:
        """The hidden state consistent with one observation ``x0`` (n_channels,) in data units."""
        check_is_fitted(self, "model_")
        x = check_array(x0, "x0", ndim=1, dims=f"({self.n_channels_},)")
        check_finite(x, "x0")
        if x.shape != (self.n_channels_,):
            raise ValueError(f"x0 must have shape ({self.n_channels_},); got {x.shape}")
        with torch.no_grad():
            B, c, B_pinv = self._readout_parts()
            xt = to_tensor((x - self.mean_) / self.scale_, device=self.device_, dtype=self.dtype_)[None]
            h = _force(torch.zeros(1, self.model_.n_units, device=self.device_, dtype=self.dtype_),
                       xt, B, c, B_pinv, 1.0)
        return h[0].cpu().numpy()

    def simulate(self, n_steps: int, x0: Any = None, inputs: Any = None, noise_std: float = 0.0,
                 random_state: Any = None, return_states: bool = False):
        """Free-running activity of the fitted network.

        Parameters
        ----------
        n_steps : int
        x0 : array-like (n_channels,), optional
            Start from the state consistent with this observation (default: the
            training mean, i.e. zeros in standardised units).
        inputs : array-like (n_steps, n_inputs), optional
            Required when the model was fitted with inputs.
        noise_std : float
            Gaussian noise added to the hidden state at every step.
        random_state : None, int or Generator
        return_states : bool
            Also return the hidden states (n_steps, n_units).

        Returns
        -------
        numpy.ndarray (n_steps, n_channels), in the units of the data
        """
        check_is_fitted(self, "model_")
        n_steps = check_positive_int(n_steps, "n_steps")
        noise_std = check_scalar(noise_std, "noise_std", low=0.0, high=1e6)
        if self._uses_inputs and inputs is None:
            raise ValueError("inputs is required: the model was fitted with external inputs")
        if inputs is not None:
            u = check_array(inputs, "inputs", ndim=2, dims="(n_steps, n_inputs)")
            check_finite(u, "inputs")
            if u.shape != (n_steps, self.n_inputs_):
                raise ValueError(f"inputs must have shape ({n_steps}, {self.n_inputs_}); got {u.shape}")
        else:
            u = np.zeros((n_steps, 1))
        if x0 is None:
            x0 = self.mean_
        h = torch.as_tensor(self.initial_state(x0), device=self.device_, dtype=self.dtype_)[None]
        gen = torch.Generator()
        gen.manual_seed(seed_from_random_state(random_state) if random_state is not None else 0)
        ut = to_tensor(u, device=self.device_, dtype=self.dtype_)
        B, c, _ = self._readout_parts()
        states = []
        with torch.no_grad():
            # the network is nonlinear, so steps run in sequence
            for t in range(n_steps):
                h = self.model_.step(h, ut[t:t + 1])
                if noise_std > 0:
                    h = h + noise_std * random_normal(h.shape, gen, h.device, h.dtype)
                states.append(h[0])
            H = torch.stack(states)
            out = (H @ B.T + c).cpu().numpy().astype(float) * self.scale_ + self.mean_
        if return_states:
            return out, H.cpu().numpy()
        return out

    def score(self, X: Any, y: Any = None, *, inputs: Any = None) -> float:
        """Mean squared one-step prediction error on ``X`` with full forcing (standardised units; lower is better).

        ``y`` is ignored; ``inputs`` (keyword-only) as in :meth:`fit`.

        Returns
        -------
        Score
            A float (squared training-standard-deviation units, lower is better)
            whose repr names its units.
        """
        check_is_fitted(self, "model_")
        _refuse_sparse(X, "X")
        recs = check_recordings(X, "X", min_timepoints=2, allow_constant=True, warn_transposed=True)
        if recs[0].shape[1] != self.n_channels_:
            raise ValueError(f"X has {recs[0].shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_channels_} features as input (channels)")
        ins, _ = self._check_inputs(inputs, recs)
        errs = []
        dtype_name = str(self.dtype_).replace("torch.", "")
        with torch.no_grad():
            for i, (r, u) in enumerate(zip(recs, ins, strict=True)):
                z = (r - self.mean_) / self.scale_
                check_float_range(z, f"X[{i}] (standardised with the training mean and sd)", dtype_name)
                seg = to_tensor(z, device=self.device_, dtype=self.dtype_)[:, None]
                useg = to_tensor(u, device=self.device_, dtype=self.dtype_)[:, None]
                errs.append(float(self._forced_loss(seg, useg, 1.0)))
        return Score(np.mean(errs), "squared training SDs",
                     "one-step prediction MSE (full forcing)", higher_is_better=False)


def fit_dynamics(X: Any, inputs: Any = None, **params: Any) -> DynamicsRNN:
    """Fit a :class:`DynamicsRNN` to recordings ``X`` (see there for ``params``) and return it."""
    return DynamicsRNN(**params).fit(X, inputs=inputs)
