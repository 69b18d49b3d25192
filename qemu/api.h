/*
 * api.h: Firecracker's REST API on a unix socket (libmicrohttpd), served
 * from the event loop. Successful PUT/PATCH answer 204, GETs 200 with
 * JSON; every failure is 400 {"fault_message": "..."}, as in Firecracker
 * (GET /mmds before any PUT /mmds is 404).
 */
#ifndef VMM_API_H
#define VMM_API_H

#include <stdbool.h>

#include "error.h"
#include "vm.h"

#define VMM_API_MAX_BODY 51200	/* Firecracker's HTTP_MAX_PAYLOAD_SIZE */

struct vmm_api;

/*
 * Serve the API on `listen_fd` (a listening unix socket; ownership passes
 * to the API) for `vm`, which must outlive the API. Returns 0 and a handle
 * in *ap, or a negative errno with `e`.
 */
int vmm_api_start(struct vmm_api **ap, int listen_fd, struct vmm_vm *vm,
    struct mvm_error *e);

/*
 * How long the loop may sleep before libmicrohttpd needs to run again, in
 * milliseconds; -1 for as long as it likes.
 */
int vmm_api_timeout(struct vmm_api *a);

/* Let libmicrohttpd process whatever is ready. */
void vmm_api_run(struct vmm_api *a);

/* Whether a reply that must end the process has been sent. */
bool vmm_api_done(const struct vmm_api *a);

/* Stop serving and free the handle. NULL is ok. */
void vmm_api_stop(struct vmm_api *a);

/*
 * Whether the route table serves `method` `url` (NUL-terminated, as
 * libmicrohttpd passes them); the API answers any other request with 400
 * "Invalid request method and/or path". On a match *id is the {id} part of
 * a path such as /drives/{id}, pointing into `url` (never empty, never
 * holding a '/'), or NULL for a path without one. Pure: the lookup the
 * server makes for every request, exposed for tests and fuzzing.
 */
bool vmm_api_route(const char *method, const char *url, const char **id);

#endif
