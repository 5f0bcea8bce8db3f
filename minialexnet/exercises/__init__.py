"""Grade the course's exercises: the student's own layers, checker, optimizer, loops, augmentation, kernel.

``python -m minialexnet.exercises check [NAME ...] [--dir DIR] [--solutions]``, or in a
notebook ``exercises.check("relu")``. The student's code lives in ``lessons/exercises/<name>.py``
(``$MINIALEXNET_EXERCISES`` points elsewhere, e.g. at ``lessons/solutions/``, the reference
solutions: thin wrappers around the library, the one copy of each layer); ``load(name)``
imports it afresh, so an edit counts without restarting the kernel. ``check`` prints one line,
``relu: pass (relative error 3e-11); runs on NumPy and on the GPU (strict device)``,
``relu: not written yet`` or ``relu: FAIL - <hint>``, returns a ``Grade`` and never raises.
``python -m minialexnet.exercises status`` grades them all the same way and prints the
student's progress, lesson by lesson, and what to do next (``status.py``; it remembers the
verdicts on unchanged files).

Where each part lives:

- ``grading.py``: the lessons and their exercises, the grader of each, ``check``;
- the graders, one module per kind of exercise: ``grade_softmax.py`` (lesson 1),
  ``grade_layers.py`` with its table of cases ``layer_cases.py`` (the layers of lessons 2-5),
  ``grade_gradcheck.py`` (3), ``grade_im2col.py`` (4), ``grade_dropout.py`` (5),
  ``grade_sequential.py`` (6), ``grade_optim.py`` (SGD, lesson 7, and the schedule, 8),
  ``grade_loops.py`` (the training loop, 7, and the data-parallel step, 12), ``grade_data.py``
  (augmentation, 9, and nearest neighbours, 10), ``grade_kernel.py`` (11);
- ``harness.py`` runs the student's code (the library poisoned, forward calls counted, errors
  turned into hints), ``on_device.py`` runs it on the strict device, ``files.py`` finds and
  imports the student's files;
- the float64 oracles the layers are graded against are ``minialexnet/oracles.py``, which the
  tests use too;
- ``student_network.py`` builds the student's own small AlexNet for lessons 8 and 10;
  ``cli.py`` is the command line.

What is checked (float64, fixed seeds, several cases per exercise, the failing one named):
- layers: forward against plain float64 loops (``minialexnet/oracles.py``, independent of the
  library), on non-square inputs and kernels, odd sizes, strides 1-4, padding 0-2, batches
  1-4, groups 1 and 2 (Conv2d); backward against central differences of those loops, every tensor; smooth layers
  also against the complex-step derivative (exact to rounding: the reported error), ReLU on
  inputs within 1e-9 of its kink and exactly at it (the gradient there is 0: x > 0, lesson 11's
  rule too), max-pool on exact ties and on near-ties 1e-10 apart, LRN with an even size too;
  two instances run interleaved; each layer once more on the strict device (CuPy's API and
  rules without a GPU, ``minialexnet.strict_device``): the exercises are written against ``xp``;
- softmax (lesson 1), crops and flips (lesson 9) and nearest neighbours (lesson 10) on NumPy
  and on the strict device; the gradient checker (lesson 3) on a curved probe and on correct
  layers, both held to lesson 3's bound of 1e-7, on layers with planted bugs (one whose backward
  ignores dout) and a kink; SGD over a schedule whose lr drops by 10 twice; the training loop on
  a small problem whose last batch is smaller, its order repeated by the same rng; the plateau
  schedule (lesson 8) on a fixed error curve; the data-parallel step (lesson 12) against one
  process on uneven shares, on layers that reuse their gradient arrays (as the fast engine's
  do); a numba.cuda kernel (lesson 11) in the CUDA simulator, in a child process, also
  launched on a dx filled with NaN.

What it rejects, each with a hint naming the mistake (tests/test_exercises.py has one
deliberately wrong file per case):
- not written yet; a syntax or import error, ``sys.exit``, a missing class or function;
  an endless loop (a time limit, where the grader runs in the main thread); a file that
  imports torch, jax, autograd or tensorflow;
- code that fails on the strict device, told apart by cause, with file and line: NumPy called
  on a device array or a host array mixed into one ("runs on NumPy only": write ``xp``); a name
  CuPy has not got ("cannot run on CuPy: CuPy has no cupy.insert", with the ``xp`` alternative);
  something CuPy computes otherwise (an index out of bounds, a repeated index assigned, an
  undefined float-to-int cast); and a result that differs from NumPy's;
- a forward that returns a list, the wrong dtype or shape, NaN/inf, changes its input, or
  disagrees with the formula: a forward changed together with a matching backward fails here;
  shapes computed from the wrong axis (OW from H), KW taken equal to KH, OH = H // S; a conv
  kernel flipped; LRN's window centred for an even size;
- a backward that writes into ``dout``; that calls the library's layers, their functions,
  ``minialexnet.gradcheck`` or the oracles (while the student's code runs, every function and method of
  those modules, and every reference to one in a minialexnet module or the student's
  globals, is replaced by one that records the call and raises a BaseException, so even
  ``except BaseException`` does not hide it; the reference solutions are exempt); that calls
  forward (finite differences), or differentiates a private copy of the forward numerically
  (off the exact derivative by far more than rounding, or wrong next to a kink or a near-tie);
  state shared between instances (a module-level or class-level cache);
- gradients missing, stored under other names, never written (all zeros), accumulated
  across calls, divided by N, averaged over the N * OH * OW positions (conv db), of the wrong
  sign or shape (transposed?), ignoring ``dout``, or plainly wrong;
- max-pool ties given to every maximum, split among them, or to another one; ReLU's
  gradient at exactly 0; LRN's alpha divided by size; softmax without the row maximum;
  im2col's row or column order, col2im assigning instead of adding; dropout's p as the keep
  probability, without or with the wrong scale, one mask for every call or for the whole
  batch, not seeded by ``self.rng``, scaling at test time; Sequential's order, its dout
  hand-over and train flag; SGD's weight decay (on one parameter only, the biases say: named),
  velocity, in-place update and PyTorch's form (equal to the paper's only while lr is
  constant); the loop's dropped last batch, missing shuffle or one not drawn from ``rng``,
  labels out of step with their images, extra or missing steps, percentages, the unweighted
  mean of the batch losses; a checker with dout = ones or one-sided differences; gradients
  kept by reference across the data-parallel shares; a kernel that leaves zeros unwritten;
  and each new exercise's usual slips (see the tests).

What it cannot detect: an autodiff library reached without an import statement in the file
(importlib, a helper module); a library function reached through a reference kept outside
module globals (a default argument, a closure, a class attribute, a container) made before
the check; finite differences so fine that they agree with the exact derivative to 1e-11 on
smooth layers (no float64 step does); code that behaves differently on inputs other than the
checker's; a student who edits the grader; CuPy behaviour the strict device does not model
(see its docstring). It judges results, not style or speed.
"""

from minialexnet.exercises.cli import main
from minialexnet.exercises.files import ENVIRONMENT, exercise_dir, load, solutions_dir
from minialexnet.exercises.grading import LESSONS, NAMES, Grade, check

__all__ = ["ENVIRONMENT", "LESSONS", "NAMES", "Grade", "check", "exercise_dir", "load", "main", "solutions_dir"]
