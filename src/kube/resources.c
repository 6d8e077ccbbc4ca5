/* The resource types vreq talks to (kube/client.h). */
#include "kube/client.h"

#define VELERO(plural_, kind_)                                                                     \
    {                                                                                              \
        .group = "velero.io", .version = "v1", .plural = (plural_), .kind = (kind_),               \
        .namespaced = true                                                                         \
    }

const struct vr_kube_resource vr_kube_res_downloadrequests =
    VELERO("downloadrequests", "DownloadRequest");
const struct vr_kube_resource vr_kube_res_serverstatusrequests =
    VELERO("serverstatusrequests", "ServerStatusRequest");
const struct vr_kube_resource vr_kube_res_backups = VELERO("backups", "Backup");
const struct vr_kube_resource vr_kube_res_restores = VELERO("restores", "Restore");
const struct vr_kube_resource vr_kube_res_backupstoragelocations =
    VELERO("backupstoragelocations", "BackupStorageLocation");

const struct vr_kube_resource vr_kube_res_secrets = {
    .group = "", .version = "v1", .plural = "secrets", .kind = "Secret", .namespaced = true};

const struct vr_kube_resource vr_kube_res_leases = {.group = "coordination.k8s.io",
                                                    .version = "v1",
                                                    .plural = "leases",
                                                    .kind = "Lease",
                                                    .namespaced = true};

const struct vr_kube_resource vr_kube_res_crds = {.group = "apiextensions.k8s.io",
                                                  .version = "v1",
                                                  .plural = "customresourcedefinitions",
                                                  .kind = "CustomResourceDefinition",
                                                  .namespaced = false};
