/*
 * krill-idmap: an ID-mapped bind mount.
 *
 *   krill-idmap [--rw] [--recursive] USERNS SOURCE TARGET
 *
 * Mounts a read-only clone of SOURCE at TARGET with the ID mapping of the user
 * namespace at USERNS (a /proc/<pid>/ns/user or a pinned namespace file):
 * a file owned by uid N on disk is seen as owned by the host uid that N maps
 * to in that namespace. A user-namespaced pod's containers get their root
 * filesystem this way, so that its root-owned files belong to the pod's root.
 * --rw leaves the clone writable, --recursive takes the mounts below SOURCE
 * along (both for a pod's volumes, when the OCI runtime cannot ID-map them).
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
	int rw = 0, recursive = 0, i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--rw") == 0)
			rw = 1;
		else if (strcmp(argv[i], "--recursive") == 0)
			recursive = 1;
		else
			break;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: %s [--rw] [--recursive] USERNS SOURCE TARGET\n", argv[0]);
		return 1;
	}
	const char *ns = argv[i], *source = argv[i + 1], *target = argv[i + 2];
	int userns = open(ns, O_RDONLY | O_CLOEXEC);
	if (userns < 0) {
		fprintf(stderr, "krill-idmap: open %s: %s\n", ns, strerror(errno));
		return 1;
	}
	int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (tree < 0) {
		fprintf(stderr, "krill-idmap: open_tree %s: %s\n", source, strerror(errno));
		return 1;
	}
	/* Read-only unless asked: a layer is shared by every container of its images, and overlay only reads lower layers. */
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | (rw ? 0 : MOUNT_ATTR_RDONLY), .userns_fd = (__u64)userns};
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0) {
		fprintf(stderr, "krill-idmap: id-mapping %s: %s\n", source, strerror(errno));
		return 1;
	}
	if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		fprintf(stderr, "krill-idmap: mount on %s: %s\n", target, strerror(errno));
		return 1;
	}
	return 0;
}
