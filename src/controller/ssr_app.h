/*
 * The ServerStatusRequest controller as a reconciler table entry for vreqd's app
 * (controller "server-status-request"): create reads --namespace (--all-namespaces widens
 * only the DownloadRequest controller), --server-status-ttl, --server-version and
 * --plugins-file (a blocking read, at start-up) from app->cfg, makes the controller's
 * metric series when app->vm is set, and registers its stoppers (informer and collector
 * in the INFORMERS phase; queue drain and close in the QUEUES phase). An unreadable or
 * invalid plugins file is logged and fails create with VR_ECONFIG (or VR_ETOOBIG).
 */
#ifndef VR_CONTROLLER_SSR_APP_H
#define VR_CONTROLLER_SSR_APP_H

#include "controller/reconciler.h"

extern const struct vr_reconciler_ops vr_ssr_reconciler;

#endif
