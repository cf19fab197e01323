/* SPDX-License-Identifier: ISC */
/*
 * msgid — the journald MESSAGE_IDs of kmswatch. One per check (every event
 * of that check carries it) and one per daemon life event. They are
 * documented in systemd/kmswatch.catalog. Never change or reuse an id.
 */
#ifndef KMSWATCH_MSGID_H
#define KMSWATCH_MSGID_H

/* checks */
#define MSGID_ATLAS_ACCESS           "549a25e246c94bf988647d91e1b261bb"
#define MSGID_EAR_VALID              "9853358c863e46da9e0e2158cdb53ffe"
#define MSGID_EAR_ENABLED            "0f4a8f9f934d4ecb872437751d20cca8"
#define MSGID_EAR_CONFIG             "93407c09b13642caae9efbcd0b1703f0"
#define MSGID_EAR_CLUSTERS           "e5a86bde3c584cb2bc9a0f91da07574e"
#define MSGID_EAR_ROLE               "287f9013e2e9404fa011e87a1bfc2469"
#define MSGID_EAR_PRIVATE_ENDPOINT   "7eb7b240bec54a229848b4604258867d"
#define MSGID_ATLAS_EVENTS           "ce6d0ace9daf44acab28a04b0d185912"
#define MSGID_AZURE_SECRET_EXPIRY    "acda4f6e7df6409cb3f3eaea339725a4"
#define MSGID_AZURE_KEY_STATE        "d089c82ad5ab4c0c9fb79d69b9dac732"
#define MSGID_AZURE_KEY_AGE          "0865eb8b34f04368816bbede1a0e5ec4"
#define MSGID_AZURE_KEY_VERSION      "e3f6b209340a4ea79b052ec02fb53177"
#define MSGID_AZURE_KEY_IDENTIFIER   "0c95cffaad034064a5c8bf4035f9d1bd"
#define MSGID_AZURE_ALLOWLIST        "353d3a86cdd14436b4238fc824ba8195"
#define MSGID_AZURE_PERMISSIONS      "d4ee276233ab4beba60e65ffbd153f94"
#define MSGID_AZURE_ACCESS           "44cc47a88833495792d88074dc18c727"
#define MSGID_ATLAS_CONTROL_PLANE_IPS "6799540a6cd64d19abd8c2aa46d36f3b"
#define MSGID_ATLAS_CREDENTIAL_EXPIRY "ca591509069044e4a34dcf17263e45bb"
#define MSGID_AWS_KEY_STATE          "9a372436e893482aa4b3424f263ab2c8"
#define MSGID_AWS_KEY_AGE            "26c6333804954ea388d5c873dd38af49"
#define MSGID_AWS_ACCESS             "ca3a3912f2954d4d92e0451559ca8d3e"
/* Google Cloud KMS */
#define MSGID_GCP_KEY_STATE          "62cbb2c25ff74fc193671b4a44f07141"
#define MSGID_GCP_KEY_AGE            "ef640eae62a04f3f94c0299ee2d031dc"
#define MSGID_GCP_ACCESS             "70a1a02f2b2642f0a4aa29f5360a95ca"

/* daemon life */
#define MSGID_STARTED                "39c06c6920d24c3991f5eb7decaeb7d1"
#define MSGID_STOPPING               "a897d9cb38ba46ef97ef3ffad96117ea"
#define MSGID_CONFIG_RELOADED        "069e3bb34d374e9bb4ea574aeccc69bd"
#define MSGID_CONFIG_REJECTED        "c555c669f52246df8574edb4d16872c0"
#define MSGID_DELIVERY_FAILED        "7e7a03cf49914917b5db0044670a1722"
#define MSGID_STATE_WRITE_FAILED     "be6811491f7b4af79f25000f96188a83"
/* discover: a project came into view, or left it */
#define MSGID_PROJECT_DISCOVERED     "bd77ad71519047cda2ef15e0aaa428c8"
#define MSGID_PROJECT_GONE           "5a3d72c748a44097b677d66913bd76ac"

#endif
