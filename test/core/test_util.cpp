/*
 * test_util.cpp — data location and .fvecs/.ivecs readers for the tests.
 */
#include <cstdio>
#include <unistd.h>
#include <limits.h>
#include <sys/stat.h>

#include "test_util.h"

namespace tqtest {

namespace {

bool
IsDir(const std::string &p)
{
	struct stat st;
	return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads a file of records: int32 dim, then dim 4-byte values. */
bool
ReadRecords(const std::string &path, std::vector<uint8_t> *raw, uint32_t *dim, uint32_t *n)
{
	FILE *f = std::fopen(path.c_str(), "rb");
	if (f == nullptr)
		return false;
	int32_t d = 0;
	if (std::fread(&d, 4, 1, f) != 1 || d <= 0) {
		std::fclose(f);
		return false;
	}
	std::fseek(f, 0, SEEK_END);
	long size = std::ftell(f);
	std::fseek(f, 0, SEEK_SET);
	size_t rec = 4 + 4 * (size_t) d;
	size_t count = (size_t) size / rec;
	std::vector<uint8_t> all((size_t) size);
	bool ok = std::fread(all.data(), 1, all.size(), f) == all.size();
	std::fclose(f);
	if (!ok)
		return false;
	raw->resize(count * 4 * (size_t) d);
	for (size_t i = 0; i < count; i++)
		std::memcpy(raw->data() + i * 4 * d, all.data() + i * rec + 4, 4 * (size_t) d);
	*dim = (uint32_t) d;
	*n = (uint32_t) count;
	return true;
}

} /* namespace */

std::string
DataDir()
{
	const char *env = std::getenv("TQ_DATA_DIR");
	if (env != nullptr && *env)
		return env;
	/* The binary lives in <repo>/test/core/. */
	char buf[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (len > 0) {
		buf[len] = 0;
		std::string exe(buf);
		std::string dir = exe.substr(0, exe.rfind('/'));
		std::string cand = dir + "/../../../shared/data";
		if (IsDir(cand))
			return cand;
	}
	if (getcwd(buf, sizeof(buf)) != nullptr) {
		std::string cand = std::string(buf) + "/../shared/data";
		if (IsDir(cand))
			return cand;
	}
	return "../shared/data";
}

bool
ReadVecs(const std::string &path, std::vector<float> *data, uint32_t *dim, uint32_t *n)
{
	std::vector<uint8_t> raw;
	if (!ReadRecords(path, &raw, dim, n))
		return false;
	data->resize(raw.size() / 4);
	std::memcpy(data->data(), raw.data(), raw.size());
	return true;
}

bool
ReadIvecs(const std::string &path, std::vector<int32_t> *data, uint32_t *dim, uint32_t *n)
{
	std::vector<uint8_t> raw;
	if (!ReadRecords(path, &raw, dim, n))
		return false;
	data->resize(raw.size() / 4);
	std::memcpy(data->data(), raw.data(), raw.size());
	return true;
}

bool
InCi()
{
	const char *ci = std::getenv("CI");
	return ci != nullptr && std::strcmp(ci, "true") == 0;
}

} /* namespace tqtest */
