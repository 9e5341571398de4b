// The test bed settings of an e2e run (hack/testbed reads them at `up`): a
// RuntimeClass handler for crun, and a pinned image for the image GC test.
export const PINNED_IMAGE = '127.0.0.1:5055/krill-test/compress-none:latest';

export const E2E_TESTBED_ENV: Record<string, string> = {
  KRILL_TESTBED_KRILLD_CONFIG: `[image]\npause_image = "${PINNED_IMAGE}"`,
};

/** kubelet's drop-in directory (hack/testbed starts kubelet with --config-dir on it). */
export const KUBELET_DROPIN_DIR = '/var/lib/krill-testbed/kubelet.conf.d';
