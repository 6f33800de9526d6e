"""The thesis's MNIST job, written against the adaptive training library. Its code ships in the
package (``src/adaptsched/jobs/thesis_mnist.py``) so that the runtime's demo can submit it from any
installation; this file runs it:

    python examples/mnist/train.py --epochs 10
    torchrun --nproc-per-node 2 examples/mnist/train.py --epochs 10
    adaptsched submit examples/mnist/train.py --metric speed -- --epochs 10
"""

from adaptsched.jobs.thesis_mnist import main

if __name__ == "__main__":
    main()
