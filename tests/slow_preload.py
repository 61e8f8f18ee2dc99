"""A module a test's fork server preloads slowly: it marks where its import is (the
paths in DIGEST_TEST_PRELOAD_MARKS: started, then done, half a second apart)."""

import os
import time
from pathlib import Path

_started, _done = os.environ["DIGEST_TEST_PRELOAD_MARKS"].split(os.pathsep)
Path(_started).touch()
time.sleep(0.5)
Path(_done).touch()
