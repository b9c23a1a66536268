"""Lightning Fabric, from either distribution: ``lightning-fabric`` (our dependency) or ``lightning``."""

try:
    from lightning_fabric import Fabric
except ImportError:  # machines that ship the full ``lightning`` package only
    from lightning.fabric import Fabric

__all__ = ["Fabric"]
