import { encodeStatusV1, encodeStatusV4, internalErrorStatus, nonZeroExitStatus, successStatus } from './status';

describe('remotecommand Status', () => {
  test('success is the bare Success status', () => {
    expect(encodeStatusV4(successStatus()).toString()).toBe('{"metadata":{},"status":"Success"}');
    expect(encodeStatusV1(successStatus())).toBeUndefined();
  });

  test('a non-zero exit carries the code as the ExitCode cause, as client-go parses it', () => {
    const s = nonZeroExitStatus(3, ['sh', '-c', 'exit 3']);
    expect(encodeStatusV4(s).toString()).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    expect(encodeStatusV1(s)!.toString()).toBe('command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
  });

  test('an internal error is apierrors.NewInternalError', () => {
    expect(encodeStatusV4(internalErrorStatus('error executing command in container: container abc is not running')).toString()).toBe(
      '{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: container abc is not running","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: container abc is not running"}]},"code":500}',
    );
  });
});
