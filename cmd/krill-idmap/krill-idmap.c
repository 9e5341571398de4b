/*
 * krill-idmap: an ID-mapped bind mount.
 *
 *   krill-idmap USERNS SOURCE TARGET
 *
 * Mounts a read-only clone of SOURCE at TARGET with the ID mapping of the user
 * namespace at USERNS (a /proc/<pid>/ns/user or a pinned namespace file):
 * a file owned by uid N on disk is seen as owned by the host uid that N maps
 * to in that namespace. A user-namespaced pod's containers get their root
 * filesystem this way, so that its root-owned files belong to the pod's root.
 *
 * Neither Node.js nor util-linux 2.38 (Debian 12) offer mount_setattr(2).
 * Exits 0 on success, 1 with a message on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s USERNS SOURCE TARGET\n", argv[0]);
		return 1;
	}
	int userns = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (userns < 0) {
		fprintf(stderr, "krill-idmap: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int tree = open_tree(AT_FDCWD, argv[2], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		fprintf(stderr, "krill-idmap: open_tree %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* Read-only: a layer is shared by every container of its images, and overlay only reads lower layers. */
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, .userns_fd = (__u64)userns};
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		fprintf(stderr, "krill-idmap: id-mapping %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (move_mount(tree, "", AT_FDCWD, argv[3], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		fprintf(stderr, "krill-idmap: mount on %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	return 0;
}
