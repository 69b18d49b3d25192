/*
 * vsock.h: Firecracker's hybrid vsock over virtio-serial.
 *
 * There is no vhost-vsock here, so each guest port rides a virtio-serial
 * port named "mvm.vsock.<port>" whose QEMU chardev listens on
 * <rundir>/vsock-<port>.sock. On the host side mvm-qemu speaks
 * Firecracker's protocol on the configured uds_path:
 *   host-initiated:  a client connects to uds_path, sends "CONNECT <port>\n",
 *                    reads "OK <assigned port>\n", then has a byte stream to
 *                    the guest port (52, where the guest agent listens);
 *   guest-initiated: bytes the guest writes on port 53 are carried to a new
 *                    connection to "<uds_path>_53" (Firecracker's rule).
 * Limits: one stream per port at a time (a second CONNECT to a busy port is
 * closed), only the ports in vmm_vsock_ports exist, and an end-of-file on
 * either side closes the whole stream (no half-close).
 */
#ifndef VMM_VSOCK_H
#define VMM_VSOCK_H

#include "error.h"

#define VMM_VSOCK_NPORTS 2

/* The guest ports mvm-qemu creates: 52 (host-initiated), 53 (guest). */
extern const unsigned vmm_vsock_ports[VMM_VSOCK_NPORTS];

struct vmm_vsock;

/*
 * Listen on `uds_path` (a stale socket file there is replaced; any other
 * file is -EEXIST) and connect the guest-initiated channels under
 * `rundir`, whose sockets QEMU must already be serving. Everything runs
 * from the event loop (loop.h). Returns 0 and a handle in *vp, or a
 * negative errno with `e`.
 */
int vmm_vsock_open(struct vmm_vsock **vp, const char *uds_path,
    const char *rundir, struct mvm_error *e);

/* Close every stream and the listener, and unlink uds_path. NULL is ok. */
void vmm_vsock_close(struct vmm_vsock *v);

#endif
