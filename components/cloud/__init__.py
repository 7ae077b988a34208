"""The cloud targets behind `Cluster`: EKS (AWS) and AKS (Azure), their networks and DNS failover."""
