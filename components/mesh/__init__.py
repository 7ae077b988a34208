"""The service mesh: Istio (sidecars, CNI node agent, STRICT mTLS) and Flagger's canaries.

- `Mesh` (control_plane.py): the control plane, mesh-wide policies and Flagger, once per cluster;
- `ServiceTraffic` (traffic.py): per context service, its routes (timeouts, retries), traffic
  policy (load balancing, connection pool, outlier detection), canary and authorization;
- endpoints.py: the fixed names a meshed namespace needs before the mesh is built.
"""

from components.mesh.control_plane import Mesh, MeshArgs
from components.mesh.endpoints import MESH_ACCESS, MeshAccess
from components.mesh.traffic import ServiceTraffic, ServiceTrafficArgs

__all__ = ["MESH_ACCESS", "Mesh", "MeshAccess", "MeshArgs", "ServiceTraffic", "ServiceTrafficArgs"]
