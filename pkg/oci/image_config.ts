// The `config` object of an OCI (or Docker schema 2) image configuration,
// with the JSON field names, so the image service's stored JSON can be passed
// as it is. Docker writes null for absent lists.

export interface ImageConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Volumes?: Record<string, unknown> | null;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
}
