// SPDX-License-Identifier: Apache-2.0
/* cordon-diff: `cordon diff`, as its own program (cli/cmd_stage.c says why). */
#include "backend/linux/stage.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cmd_diff_with(argc, argv, lx_stage_diff);
}
