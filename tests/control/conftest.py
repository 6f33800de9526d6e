import sys
from pathlib import Path

# The synthetic application and workload writers of the simulator's tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "sim"))
