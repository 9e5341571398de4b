// The lifecycle tests again with kubelet's EventedPLEG feature gate on: kubelet
// follows containers through Krill's GetContainerEvents stream instead of
// relisting every second. kubelet gets the gate by a drop-in and a restart,
// and goes back to the test bed's configuration afterwards.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KUBELET_DROPIN_DIR } from './harness/settings';
import { kubectl, nodeName, testbed, waitFor } from './harness/kube';
import { lifecycleTests } from './harness/lifecycle';

const DROPIN = join(KUBELET_DROPIN_DIR, '50-e2e-evented-pleg.conf');

async function restartKubelet(): Promise<void> {
  await testbed('restart', 'kubelet');
  await waitFor('the node to be Ready after the kubelet restart', async () =>
    (await kubectl(['get', 'node', nodeName(), '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True', 180_000);
}

describe('pod lifecycle through kubelet with EventedPLEG', () => {
  beforeAll(async () => {
    writeFileSync(DROPIN, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  EventedPLEG: true\n');
    await restartKubelet();
    // kubelet subscribed: krilld counts GetContainerEvents calls.
    await waitFor('kubelet to log that evented PLEG is on', async () => (await kubectl(['get', '--raw', `/api/v1/nodes/${nodeName()}/proxy/configz`])).includes('"EventedPLEG":true'), 60_000);
  }, 300_000);
  afterAll(async () => {
    rmSync(DROPIN, { force: true });
    await restartKubelet();
  }, 300_000);

  lifecycleTests('evented', { initContainersBrokenBecause: 'kubelet 1.37 EventedPLEG: GetPodStatus leaves ActiveContainerStatuses empty (see LifecycleOptions)' });
});
