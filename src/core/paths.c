// SPDX-License-Identifier: Apache-2.0
#include "core/paths.h"

#include <stdlib.h>
#include <string.h>

char *path_join_normalize(const char *base, const char *rel)
{
	size_t cap = strlen(base) + strlen(rel) + 3;
	char *tmp = malloc(cap);
	char *out = malloc(cap);
	if (!tmp || !out) {
		free(tmp);
		free(out);
		return NULL;
	}
	if (rel[0] == '/')
		strcpy(tmp, rel);
	else {
		strcpy(tmp, base);
		strcat(tmp, "/");
		strcat(tmp, rel);
	}
	/* Walk components, keeping a stack in `out`. */
	size_t o = 0;
	char *save = NULL;
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		size_t n = strlen(c);
		memcpy(out + o, c, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(tmp);
	return out;
}

char *path_expand_home(const char *path, const char *home)
{
	if (path[0] != '~')
		return strdup(path);
	if (path[1] != '\0' && path[1] != '/')
		return NULL; /* ~user is not supported */
	if (!home || home[0] != '/')
		return NULL;
	size_t n = strlen(home) + strlen(path);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	strcpy(out, home);
	strcat(out, path + 1);
	return out;
}

bool path_is_under(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (strcmp(root, "/") == 0)
		return path[0] == '/';
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool path_is_bare_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}
