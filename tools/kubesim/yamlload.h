/*
 * YAML (or JSON) text to cJSON documents, for kubesim's object files (kube-api.md §9,
 * contract §8: "can start from a YAML/JSON file of objects"). Pure: the caller reads
 * the file.
 *
 * Scalars resolve like sigs.k8s.io/yaml (go-yaml v2, YAML 1.1), which kubectl uses for
 * manifests: plain true/false/yes/no/on/off (any of the usual capitalisations) are
 * booleans, ""/~/null are null, integers (decimal, 0x, 0o, 0b, leading-0 octal, `_`
 * separators) and floats are numbers; quoted and block scalars and `!!str` always stay
 * strings; .inf/.nan stay strings (JSON has no such numbers). Mapping keys are strings.
 * Aliases and merge keys are rejected; anchors on their own are ignored.
 */
#ifndef KUBESIM_YAMLLOAD_H
#define KUBESIM_YAMLLOAD_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Deepest nesting accepted (cJSON's own printer and comparer recurse). */
#define KS_YAML_MAX_DEPTH 512

/* Parses text (len bytes, need not be NUL-terminated) holding one or more `---`
 * separated documents. On success *out is a new cJSON array (caller frees) with one
 * element per document; an empty document is a JSON null. Returns 0, or VR_EPARSE with
 * err (errcap bytes) holding "line L, column C: what is wrong" (1-based). */
int ks_yaml_load(const char *text, size_t len, cJSON **out, char *err, size_t errcap);

#endif
