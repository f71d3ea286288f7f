"""`pycompose convert`: a compose project as objects of another platform (Kubernetes).

project.py runs the conversion (a pure function of the loaded project); one module per kind of
object: workloads.py (Deployment, StatefulSet, DaemonSet, Pod) over pod.py and container.py,
services.py, storage.py (PVCs and pod volumes), data.py (ConfigMaps, Secrets); keys.py lists what is
read so the rest is warned about; render.py writes YAML.
"""

from compose.convert.project import to_kubernetes
from compose.convert.types import Conversion, ConvertError, Manifest, Unconverted

__all__ = ["Conversion", "ConvertError", "Manifest", "Unconverted", "to_kubernetes"]
