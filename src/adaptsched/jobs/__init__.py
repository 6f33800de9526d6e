"""Training scripts shipped with the package, so that the demo, the experiments and the
profiler can submit them from any installation: each file runs as ``python FILE [args]``."""

from pathlib import Path

#: The thesis's MNIST job (``python thesis_mnist.py --epochs 10``; torchrun and adaptsched too).
#: (Named so that, run as a script, it does not shadow the ``mnist`` data package.)
MNIST_SCRIPT = Path(__file__).with_name("thesis_mnist.py")
