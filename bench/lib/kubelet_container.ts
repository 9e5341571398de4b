// ListContainers entries shaped like kubelet's (its labels and annotations,
// realistic lengths), for message-size tests and the shim benchmark.
import { ContainerState, type Container } from '../../api/runtime/v1/api';

const hex = (seed: number, n = 64): string => seed.toString(16).padStart(8, '0').repeat(Math.ceil(n / 8)).slice(0, n);

/** A container as kubelet makes it: its labels and annotations, realistic lengths. */
export function kubeletContainer(i: number): Container {
  const pod = `web-frontend-7d9c5b6f4-${hex(i, 5)}`;
  const digest = `sha256:${hex(i * 7)}`;
  return {
    id: hex(i),
    podSandboxId: hex(i + 1_000_000),
    metadata: { name: `app-container-${i % 10}`, attempt: 3 },
    image: { image: digest, annotations: {}, userSpecifiedImage: 'registry.example.com/team/web-frontend:v1.27.3', runtimeHandler: '', imageRef: '' },
    imageRef: `registry.example.com/team/web-frontend@${digest}`,
    imageId: digest,
    state: ContainerState.CONTAINER_RUNNING,
    createdAt: 1_700_000_000_000_000_000n + BigInt(i),
    labels: {
      'io.kubernetes.container.name': `app-container-${i % 10}`,
      'io.kubernetes.pod.name': pod,
      'io.kubernetes.pod.namespace': 'production-frontend',
      'io.kubernetes.pod.uid': `${hex(i, 8)}-${hex(i, 4)}-${hex(i, 4)}-${hex(i, 4)}-${hex(i, 12)}`,
    },
    annotations: {
      'io.kubernetes.container.hash': hex(i, 8),
      'io.kubernetes.container.restartCount': '3',
      'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      'io.kubernetes.container.terminationMessagePolicy': 'File',
      'io.kubernetes.pod.terminationGracePeriod': '30',
      'io.kubernetes.container.ports': '[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"metrics","containerPort":9090,"protocol":"TCP"}]',
      'io.kubernetes.container.preStopHandler': '{"exec":{"command":["/bin/sh","-c","sleep 5 && /usr/local/bin/drain --timeout=20s"]}}',
    },
  };
}

