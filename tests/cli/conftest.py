import sys
from pathlib import Path

# The synthetic profile and workload writers of the simulator tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "sim"))
sys.path.insert(0, str(Path(__file__).parent))
