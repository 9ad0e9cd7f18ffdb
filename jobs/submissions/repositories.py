"""The repositories the original Build Arena suggested, by how long a standard build takes.

Small builds take under a minute, medium ones one to five minutes, large ones five to fifteen.
The home page offers a few of each; demo data and benchmarks race them.
"""

SUGGESTED_REPOSITORIES = {
    "small": (
        "spring-projects/spring-petclinic",
        "apache/commons-lang",
        "apache/commons-io",
        "google/gson",
        "square/okio",
        "JodaOrg/joda-time",
    ),
    "medium": (
        "google/guava",
        "square/okhttp",
        "square/retrofit",
        "junit-team/junit5",
        "mockito/mockito",
        "google/guice",
        "FasterXML/jackson-core",
    ),
    "large": (
        "spring-projects/spring-boot",
        "spring-projects/spring-framework",
        "apache/kafka",
        "elastic/elasticsearch",
        "gradle/gradle",
    ),
}
