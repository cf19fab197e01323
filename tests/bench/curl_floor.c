/* SPDX-License-Identifier: ISC */
/*
 * curl_floor — the cheapest libcurl client for tests/bench/poll_cycle.sh.
 *
 *   curl_floor URL_FILE CA_FILE MAX_CONCURRENT
 *
 * GETs every URL of URL_FILE over HTTP/2 on one multi handle, at most
 * MAX_CONCURRENT in flight, discarding the bodies: what kmswatchd's
 * transfers cost in libcurl alone, without parsing, checks or output.
 * It shows how much of kmswatchd's time is its own and how much is the
 * HTTP library the build stack fixes. Exits 1 unless every GET is a 200.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
discard(char *data, size_t size, size_t nmemb, void *userp)
{
	(void)data;
	(void)userp;
	return size * nmemb;
}

static int
add(CURLM *multi, const char *url, const char *ca)
{
	CURL *e = curl_easy_init();

	if (!e || curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
	    curl_multi_add_handle(multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char **urls = NULL, line[2048];
	size_t n = 0, cap = 0, next = 0, done = 0, failed = 0;
	long max;
	CURLM *multi;
	FILE *f;

	if (argc != 4 || (max = strtol(argv[3], NULL, 10)) < 1) {
		fprintf(stderr, "usage: curl_floor URL_FILE CA_FILE MAX_CONCURRENT\n");
		return 2;
	}
	if (!(f = fopen(argv[1], "r"))) {
		perror(argv[1]);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			if (!(urls = realloc(urls, cap * sizeof(*urls))))
				return 2;
		}
		if (!(urls[n++] = strdup(line)))
			return 2;
	}
	fclose(f);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	/* the same multiplexing kmswatchd's daemon/http.c asks for */
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max);
	curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, max);
	for (; next < n && next < (size_t)max; next++)
		if (add(multi, urls[next], argv[2]) < 0)
			return 2;
	while (done < n) {
		CURLMsg *msg;
		int running, left;

		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left))) {
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			failed += msg->data.result != CURLE_OK || code != 200;
			curl_multi_remove_handle(multi, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			done++;
			if (next < n && add(multi, urls[next++], argv[2]) < 0)
				return 2;
		}
		if (done < n)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
	curl_multi_cleanup(multi);
	printf("%zu GETs, %zu failed\n", n, failed);
	return failed ? 1 : 0;
}
