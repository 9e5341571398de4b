import { removeCgroupTree } from './cgroups';

describe('removeCgroupTree', () => {
  test.each(['/kubepods', '/', '/krill-bench-', '/krill-bench-abc/../kubepods', 'krill-bench-abc', '/krill-it-1234'])('refuses %s: only a bench run root', async (root) => {
    await expect(removeCgroupTree(root)).rejects.toThrow('refusing');
  });
});
