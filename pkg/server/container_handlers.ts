// The container RPCs, as one table for the daemon to add.
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';
import { createContainerHandler } from './container_create';
import { listContainersHandler } from './container_list';
import { removeContainerHandler } from './container_remove';
import { reopenContainerLogHandler } from './container_reopen_log';
import { startContainerHandler } from './container_start';
import { containerStatsHandler, listContainerStatsHandler } from './container_stats';
import { containerStatusHandler } from './container_status';
import { stopContainerHandler } from './container_stop';
import { updateContainerResourcesHandler } from './container_update';
import { execSyncHandler } from './exec_sync';

export function containerHandlers(deps: ContainerDeps): RuntimeServiceHandlers {
  return {
    createContainer: createContainerHandler(deps),
    startContainer: startContainerHandler(deps),
    stopContainer: stopContainerHandler(deps),
    removeContainer: removeContainerHandler(deps),
    containerStatus: containerStatusHandler(deps),
    listContainers: listContainersHandler(deps),
    containerStats: containerStatsHandler(deps),
    listContainerStats: listContainerStatsHandler(deps),
    updateContainerResources: updateContainerResourcesHandler(deps),
    reopenContainerLog: reopenContainerLogHandler(deps),
    execSync: execSyncHandler(deps),
  };
}
