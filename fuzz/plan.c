/* fuzz/plan.c: libFuzzer harness for the job document parser and checker (lib/plan.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct onyx_plan_problems probs = {0};
	json_t *plan = NULL;
	char line[512];

	onyx_plan_build((const char *)data, size, &plan, &probs);
	for (size_t i = 0; i < probs.n; i++)
		onyx_plan_problem_str(&probs.v[i], "fuzz", line, sizeof(line));
	json_decref(plan);
	onyx_plan_problems_free(&probs);
	return 0;
}
