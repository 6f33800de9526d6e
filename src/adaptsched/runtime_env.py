"""The environment contract between the runtime and a job's processes: the variables the
runtime sets for every replica (besides torchrun's RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and the training library reads, so that a script
needs no adaptsched-specific arguments. Imports nothing (both sides use it)."""

JOB_ID = "ADAPTSCHED_JOB_ID"
GENERATION = "ADAPTSCHED_GENERATION"  # number of starts of the job, from 1
JOB_DIR = "ADAPTSCHED_JOB_DIR"  # the job's own folder (logs, outputs), shared by its replicas
CHECKPOINT_DIR = "ADAPTSCHED_CHECKPOINT_DIR"
METRIC = "ADAPTSCHED_METRIC"  # the metric the job was submitted with
HINTS_URL = "ADAPTSCHED_HINTS_URL"  # where rank 0 PUTs its hints
TOKEN = "ADAPTSCHED_TOKEN"  # bearer token for the controller's API, when it asks for one
NUM_NODES = "ADAPTSCHED_NUM_NODES"  # distinct nodes of this generation

# Profiling mode (``adaptsched profile --script``; adaptsched.train.profile_mode): the trainer
# holds one batch configuration, measures it, writes what it measured and ends its loops.
PROFILE_OUT = "ADAPTSCHED_PROFILE_OUT"  # JSON file rank 0 writes its measurements to
PROFILE_LOCAL_BSZ = "ADAPTSCHED_PROFILE_LOCAL_BSZ"  # local batches to hold in turn, "8,16"
PROFILE_STEPS = "ADAPTSCHED_PROFILE_STEPS"  # timed steps per local batch
PROFILE_BATCH = "ADAPTSCHED_PROFILE_BATCH"  # total batch M to hold ...
PROFILE_EPOCHS = "ADAPTSCHED_PROFILE_EPOCHS"  # ... for this many statistical epochs
