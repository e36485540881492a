/** The kubeadm API server port (stacked etcd control planes). */
export const KUBEADM_API_PORT = 6443;
