namespace McpGuard.Isolation.Detection;

/// <summary>
/// The built-in cue catalog. Cues come from the prompt-injection and tool-poisoning literature (Greshake et al. 2023,
/// "Not what you've signed up for"; Invariant Labs' tool-poisoning and shadowing write-ups; AgentDojo, InjecAgent, BIPIA,
/// ASB attack templates as described in their papers; OWASP LLM01) and from general linguistic signs of text that
/// addresses the model instead of describing data or a tool. No rule names a particular server, tool or corpus string.
/// </summary>
internal static class InjectionRules
{
    private const string Model = @"(?:ai|assistant|agent|model|llm|chatbot|gpt(?:-?\d[\w.-]*)?|claude|gemini|llama|mistral|copilot|chatgpt)";

    public static IReadOnlyList<PatternRule> All { get; } =
    [
        // ---- Overrides of the model's instructions -------------------------------------------------------------
        new("injection.ignore-instructions",
            @"(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|of\s+|these\s+|those\s+)*(?:previous|prior|above|earlier|preceding|original|former|initial|system|old|existing)\s+(?:\w+\s+)?(?:\w*structions?|prompts?|directions?|directives?|rules|guidelines|context|messages?|tasks?|commands?|orders)\b",
            0.9, 0.9, "Tells the model to ignore its previous instructions.", triggers: ["ignore", "disregard", "forget", "override", "bypass", "skip"]),
        new("injection.ignore-instructions",
            @"\b(?:ignore|disregard)\s+(?:all\s+|any\s+)?(?:other|the\s+other)\s+\w*\s*(?:tools?|instructions?|functions?)\b",
            0.6, 0.6, "Tells the model to ignore other tools or instructions.", triggers: ["ignore", "disregard"]),
        new("injection.new-task",
            @"\b(?:your|the)\s+(?:new|real|actual|true|updated|primary|only|next)\s+(?:task|instructions?|goal|objective|mission|job|assignment|priority)\s+(?:is|are|will\s+be|now)\b|\bnew\s+(?:instructions?|task|directive|orders)\s*:|\b(?:new|urgent|updated)\s+(?:user\s+)?(?:query|request|task)\s*:",
            0.6, 0.6, "Announces a new task or instruction set for the model.", triggers: ["task", "instruction", "goal", "objective", "mission", "job", "assignment", "priority", "directive", "order", "query", "request"]),
        new("injection.before-task",
            @"\bbefore\s+(?:you\s+)?(?:can\s+|could\s+|are\s+able\s+to\s+|start\s+to\s+|continue\s+to\s+)?(?:solve|solving|complete|completing|answer|answering|respond|responding|finish|finishing|proceed|proceeding|continue|continuing|do|doing|perform|performing|address|addressing)\s+(?:with\s+)?(?:the|this|that|my|your|any|user'?s?)?\s*(?:original\s+|current\s+|given\s+)?(?:task|request|question|query|instructions?|assignment|prompt)",
            0.55, 0.6, "Inserts a precondition in front of the user's task.", triggers: ["before"]),
        new("injection.adhere",
            @"\b(?:strictly|must|always|carefully)\s+(?:adhere|comply|obey|stick)\s+(?:to|with)\s+(?:the\s+)?(?:following|these|below|this|my|new)\b|\bfollow\s+(?:these|the\s+following|the\s+below|my|this)\s+(?:new\s+)?(?:instructions?|steps|directions|orders|commands)\s+(?:exactly|strictly|carefully|precisely|instead)",
            0.5, 0.6, "Demands strict compliance with injected instructions.", triggers: ["adhere", "comply", "obey", "stick", "follow"]),
        new("injection.instead",
            @"\binstead\s+of\s+(?:doing\s+|completing\s+|answering\s+|following\s+|performing\s+)?(?:the|your|my|what)\s+(?:user|original|current|previous|requested|asked)|\b(?:do|perform|complete)\s+(?:the\s+following|this)\s+instead\b|\.\s*instead\.",
            0.45, 0.45, "Redirects the model away from the user's request.", triggers: ["instead"]),
        new("injection.task-complete",
            @"(?:^|[\s""'])(?:answer|response|result|output|task)\s*:\s*(?:the\s+)?task\s+(?:is\s+)?(?:complete|completed|done|finished)\b|\b(?:previous|original|current|first|above)\s+(?:task|request|instructions?)\s+(?:has|have|is|are)\s+(?:been\s+)?(?:completed|done|finished|cancel+ed|over|void)",
            0.5, 0.55, "Fakes the completion of the current task.", triggers: ["task", "request", "instruction"]),

        // ---- Addressing the model ------------------------------------------------------------------------------
        new("injection.addresses-model",
            @"\b(?:message|note|instructions?|request)\s+(?:from\s+[^\n.]{1,60}\s+)?(?:to|for)\s+you\s*,?\s*(?:the\s+)?" + Model + @"\b|\bto\s+you\s*,\s*(?:the\s+)?" + Model + @"\b|\b(?:dear|attention|hey|hello|hi|note\s+to\s+(?:the\s+)?)\s*,?\s+(?:the\s+)?" + Model + @"s?\b\s*[,:!]|\bas\s+an?\s+(?:ai|language\s+model|llm)\b|\byou\s+are\s+(?:now\s+)?(?:an?\s+)?(?:ai|large\s+language\s+model|llm)\s+(?:assistant|model|agent)|\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|language\s+model|large\s+language\s+model|ai\s+assistant|ai\s+agent|assistant|chatbot)\b|\b(?:ai|llm)\s+(?:assistants?|agents?|models?)\s+(?:reading|processing|summari[sz]ing)\s+this\b",
            0.55, 0.5, "Addresses the AI model directly.", triggers: [@"ai\b", @"ais\b", @"assistant", @"agent", @"model", @"llm", @"chatbot", @"gpt", @"claude", @"gemini", @"llama", @"mistral", @"copilot"]),
        new("injection.important-message",
            @"\b(?:this\s+is\s+)?an?\s+(?:very\s+)?(?:important|urgent|critical|private|confidential)\s+(?:message|instruction|notice|request|note)\s+(?:from|for|to)\b",
            0.45, 0.5, "Announces an important message for the model.", triggers: ["message", "instruction", "notice", "request", "note"]),
        new("injection.you-are-now",
            @"\byou\s+are\s+now\s+(?:a|an|in|the|my|acting|operating|going)\b|\bfrom\s+now\s+on\s*,?\s+(?:you|always|never|the\s+assistant)\b|\bact\s+as\s+(?:if|though)\s+you\b|\bpretend\s+(?:to\s+be|that\s+you|you)\b",
            0.5, 0.5, "Tries to change the model's role or behaviour.", triggers: ["now", "act", "pretend"]),
        new("injection.simulated-user",
            @"\bi\s+am\s+(?:the|your)\s+(?:real\s+|actual\s+)?(?:user|owner|admin|administrator|developer|operator)\b|\bnew\s+user\s+(?:query|request|message|instruction|task)\b|\b(?:the\s+)?user\s+(?:has\s+)?(?:now\s+)?(?:asks?|wants?|requests?|instructs?)\s+(?:you\s+)?to\s+(?:instead|also|now|immediately)\b",
            0.55, 0.55, "Impersonates the user inside untrusted text.", triggers: ["user", "owner", "admin", "developer", "operator"]),

        // ---- Fake turn markers and closers ---------------------------------------------------------------------
        new("injection.fake-role-marker",
            @"<\|[a-z_]{2,24}\|>|</?(?:start|end)_of_turn>|\[/?INST\]|<<\s*/?SYS\s*>>|</?\s*(?:tool_result|tool_results|function_results?|function_calls?|tool_output|tool_response|tool_call|system|system_prompt|assistant|user_query|instructions?)\s*>|^\s*#{2,}\s*(?:system|instruction|instructions|assistant|human|new\s+instructions?)\b\s*:?|#{2,}\s*[(\[]?\s*(?:system|assistant|instructions?)(?:[_ ](?:message|prompt|note|instructions?|override))?\s*[)\]]|^\s*(?:human|assistant|system)\s*:\s*\S|^\s*\[(?:system|assistant)\]\s*:?|\[(?:system|assistant)\]\(#\w+\)",
            0.5, 0.5, "Fake conversation-role marker or tool-result closer.", triggers: [@"<|", @"_of_turn>", @"inst]", @"<<", @"\btool_", @"\bfunction_", @"\bsystem", @"\bassistant", @"\buser_query", @"\binstruction", @"##", @"\bhuman"]),

        new("injection.fake-closer",
            @"\bend\s+of\s+(?:the\s+)?(?:tool\s+(?:output|result|response)|function\s+(?:output|result)|search\s+results?|retrieved\s+(?:content|context|documents?)|untrusted\s+(?:content|data)|context|data)\s*(?:[-=#*\]>)]|$)|\b(?:tool|function)\s+(?:output|result|response)\s+(?:ends|ended|is\s+over|complete)\b",
            0.35, 0.35, "Claims the tool output has ended, so what follows looks trusted.", triggers: ["end", "output", "result", "response"]),
        new("injection.fake-authorization",
            @"\b(?:the\s+)?user\s+(?:has\s+)?(?:pre-?approved|pre-?authori[sz]ed|already\s+(?:approved|authori[sz]ed|consented\s+to)\s+(?:this|all|these|you|the))\b|\b(?:is|are|has\s+been|have\s+been)\s+pre-?(?:approved|authori[sz]ed)\s+by\s+(?:the\s+)?(?:user|admin|administrator|owner)\b",
            0.3, 0.45, "Claims the user already approved an action.", triggers: ["approv", "authori", "consent"]),
        new("injection.markdown-image-exfil",
            @"!\[[^\]\n]{0,200}\]\(\s*https?://[^)\s]{1,300}[?&][\w.-]{1,40}=[^)\s]{0,300}\)",
            0.3, 0.3, "Markdown image whose URL carries a query string (a zero-click exfiltration channel).", triggers: ["!["]),

        // ---- Emphasis wrappers typical of tool poisoning ---------------------------------------------------------
        new("injection.emphasis-tag",
            @"<\s*/?\s*(?:important|information|info|admin|secret|hidden|critical|urgent|mandatory|priority|note|instructions?|system[_ -]?(?:note|message|instructions?|override)?)\s*>|\[\s*(?:important|critical|urgent|admin|system|mandatory)\s*\]",
            0.45, 0.45, "Emphasis tag wrapping instructions (e.g. <IMPORTANT>).", triggers: [@"\bimportant\b", @"\binfo", @"\badmin\b", @"\bsecret\b", @"\bhidden\b", @"\bcritical\b", @"\burgent\b", @"\bmandatory\b", @"\bpriority\b", @"\bnote\b", @"\binstruction", @"\bsystem"]),
        new("injection.fake-system-header",
            @"\b(?:(?:CRITICAL|URGENT|IMPORTANT|MANDATORY)\s+)?(?:SYSTEM|SECURITY|COMPLIANCE|PERFORMANCE|ENVIRONMENT|PRIVILEGE(?:\s+ESCALATION)?|INTERNAL(?:\s+DEV)?|ADMIN|ADMINISTRATOR|DEVELOPER|DEV|DATA|ACCESS|AUTHENTICATION)\s+(?:UPDATE|MAINTENANCE|OPTIMIZATION|NOTICE|ALERT|PROTOCOL|ENHANCEMENT|VALIDATION|REQUIREMENT|OVERRIDE|MESSAGE|CHECK|INSTRUCTIONS?|DIRECTIVE|POLICY|UPGRADE|AUDIT|VERIFICATION|NOTE)S?\s*:|\bIMPORTANT\s+(?:NOTICE|UPDATE|SYSTEM\s+\w+)\s*:",
            0.5, 0.5, "Fake system/maintenance notice header.", caseSensitive: true, triggers: ["update", "maintenance", "optimization", "notice", "alert", "protocol", "enhancement", "validation", "requirement", "override", "message", "check", "instruction", "directive", "policy", "upgrade", "audit", "verification", "note", "important"]),

        // ---- Directives about how tools are called --------------------------------------------------------------
        new("injection.regardless-of-user",
            @"\bregardless\s+of\s+(?:the\s+|what\s+the\s+|any\s+|whatever\s+(?:the\s+)?)?(?:user'?s?|users'|original|requested|actual|input|specified|provided)\s*\w*|\b(?:override|overrid(?:e|ing)|replac(?:e|ing)|ignor(?:e|ing))\s+(?:the\s+)?user'?s?\s+(?:input|choice|request|query|value|parameters?|arguments?|preferences?)\b|\bno\s+matter\s+what\s+the\s+user\b",
            0.55, 0.5, "Overrides what the user asked for.", triggers: ["regardless", "user"]),
        new("injection.silent-parameter-change",
            @"\b(?:automatically|silently|always|must)\s+(?:\w+\s+){0,2}(?:modify|modifies|change|changes|set|sets|replace|replaces|override|overrides|redirect|redirects|rewrite|rewrites)\s+(?:the\s+|all\s+|any\s+)?[`'""]?[\w.-]+[`'""]?\s+(?:parameter|argument|field|value|input)s?\s+(?:to|with|into)\b|\b(?:always|automatically|silently)\s+(?:change|modify|replace|rewrite|alter|switch)\s+(?:the\s+|all\s+|any\s+)?(?:[\w-]+\s+){0,2}(?:to|with|into)\b|\b(?:query|queries|parameter|argument|input|destination|address|ticker|url)\s+(?:is|are|will\s+be)\s+(?:automatically|silently)\s+(?:modified|changed|rewritten|redirected|replaced|altered)\b|\bredirect(?:s|ed|ing)?\s+(?:all\s+|these\s+|such\s+|any\s+)?(?:\w+\s+){0,3}(?:requests?|searches|queries|calls|traffic)\s+(?:to|from)\b",
            0.5, 0.4, "Directs silent rewriting of call arguments.", triggers: ["automatically", "silently", "always", "must", "redirect"]),
        new("injection.call-tool",
            @"\b(?:must|should|need\s+to|have\s+to|required\s+to|please|always)\s+(?:first\s+|also\s+|immediately\s+|now\s+|then\s+)*(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?[`'""]?[a-z][\w-]*(?:_|-|\.)[\w.-]+[`'""]?(?:\s+(?:tool|function|command|endpoint))?|\bby\s+(?:using|calling|invoking)\s+(?:the\s+)?[`'""][^`'""\n]{2,60}[`'""]\s+(?:tool|function)|\b(?:call|invoke|use)\s+the\s+[`'""]?[\w-]+[`'""]?\s+(?:tool|function)\s+(?:with|to\s+(?:send|read|write|delete|forward|email|transfer|post))\b",
            0.25, 0.4, "Asks the model to call a particular tool.", triggers: [@"\bmust\b", @"\bshould\b", @"\bneed\b", @"\bhave\b", @"\brequired\b", @"\bplease\b", @"\balways\b", @"\busing\b", @"\bcalling\b", @"\binvoking\b", @"\bcall\b", @"\binvoke\b", @"\buse\b"]),
        new("injection.call-tool",
            @"\b(?:please|must|you\s+should|you\s+need\s+to)\s+(?:now\s+|first\s+|then\s+|also\s+)*(?:call|invoke)\s+(?:[`'""][a-z][\w-]*[`'""]|[a-z]\w*_\w+)\s+(?:with|to\s+(?:get|retrieve|access|proceed|complete|capture|fetch)|first|tool|function)\b|\bplease\s+(?:now\s+)?call\s+[a-z]\w*\s+with\b|\brequires?\s+[`'""]?[\w-]+[`'""]?\s+to\s+be\s+(?:called|invoked|run|used|executed)\s+(?:first|before)\b",
            0.3, 0.4, "Asks the model to call a particular tool.", triggers: [@"\bplease\b", @"\bmust\b", @"\bshould\b", @"\bneed\b", @"\bcall\b", @"\binvoke\b", @"\brequire"]),
        new("injection.fake-error",
            @"\berror""?\s*[:=]\s*""?[^""\n]{0,200}\b(?:please|you\s+must|you\s+need\s+to|you\s+should|in\s+order\s+to)\s+(?:now\s+|first\s+)?(?:call|use|invoke|run|read|send|execute|adhere|follow|provide|visit)\b|\b(?:service|tool)\s+(?:is\s+)?(?:temporarily\s+)?unavailable\b[^\n]{0,80}\bplease\s+(?:call|use|visit|fetch)\b",
            0.35, 0.35, "Error text that instructs the model.", triggers: ["error", "unavailable"]),
        new("injection.no-other-tools",
            @"\b(?:do\s+not|don'?t|never)\s+use\s+(?:any\s+)?(?:other|another|different|the\s+other)\s+(?:tools?|functions?|servers?)\b|\buse\s+this\s+tool\s+no\s+matter\b|\bonly\s+use\s+this\s+tool\b|\b(?:use|call)\s+this\s+(?:tool|function)\s+(?:rather\s+than|instead\s+of)\s+(?:the\s+|any\s+)?(?:others?|other\s+tools?|any)\b",
            0.6, 0.5, "Forbids the use of other tools.", triggers: ["other", "another", "different", "this"]),
        new("injection.tool-deprecated-redirect",
            @"\b(?:this|the)\s+(?:[`'""]?[\w-]+[`'""]?\s+)?(?:tool|function)\s+(?:has\s+been|is|was)\s+(?:now\s+|temporarily\s+|permanently\s+)?(?:deprecated|no\s+longer\s+(?:available|supported|working)|replaced|disabled|discontinued|moved|retired)\b[^\n]{0,200}\b(?:instead|redirect|replaced\s+by|use\s+the|alternative|please\s+(?:use|call))\b",
            0.45, 0.55, "Claims a tool is deprecated and redirects to another.", triggers: ["tool", "function"]),
        new("injection.tool-side-effect",
            @"\b(?:important|very\s+important|crucial|critical)\s+side\s+effect\b|\bwhen\s+(?:this\s+tool\s+is\s+(?:available|present|loaded)|the\s+[\w-]+\s+tool\s+is\s+(?:used|called))\b|\b(?:also\s+present|other(?:wise)?\s+available)\s+[\w-]+\s+tool\b|\bthe\s+tool\s+will\s+not\s+work\b|\botherwise\s+(?:the\s+)?(?:tool|it)\s+(?:will\s+)?(?:not|fail|won'?t)\b",
            0.5, 0.45, "Describes behaviour of other tools or blackmails compliance.", triggers: ["side", "tool", "otherwise"]),
        new("injection.must-first",
            @"\b(?:you\s+)?(?:must|need\s+to|are\s+required\s+to|have\s+to)\s+(?:first|also|always|immediately|now|then)\s+(?:call|read|access|execute|run|send|make|perform|update|add|retrieve|fetch|provide|include|visit|navigate)\b|\b(?:before|prior\s+to)\s+(?:using|calling|processing|accessing|searching|creating|executing|invoking|running|any)\b[^.\n]{0,80}\b(?:you|the\s+(?:system|assistant|agent|model))\s+(?:must|should|need\s+to|requires?)\b",
            0.25, 0.3, "Mandatory precondition directed at the model.", triggers: ["must", "need", "required", "have", "before", "prior"]),
        new("injection.pretext",
            @"\bthe\s+system\s+(?:requires|must|will\s+automatically|automatically)\b|\bthis\s+(?:is|step\s+is)\s+(?:a\s+)?(?:mandatory|crucial|critical)\b|\bfor\s+(?:\w+\s+){0,4}(?:compliance|security|audit(?:ing)?|verification|validation|consistency|performance|optimi[sz]ation|quality\s+assurance|testing\s+purposes|data\s+integrity|authentication)\b[^.\n]{0,80}\b(?:you|the\s+(?:system|assistant|agent|model))\s+(?:must|should|need\s+to|are\s+required\s+to|will\s+need\s+to)\b|\b(?:is|are)\s+(?:required|mandatory)\s+for\s+all\s+(?:\w+\s+){0,4}requests\b|\bour\s+(?:partner|sponsor|affiliate)\w*\b|\bpromotional\s+message\b",
            0.35, 0.3, "Authority or compliance pretext for an instruction.", triggers: ["system", "mandatory", "crucial", "critical", "must", "should", "need", "required", "partner", "sponsor", "affiliate", "promotional"]),
        new("injection.destructive-directive",
            @"\b(?:remov|delet|eras|wip|clean|purg)\w*\s+(?:up\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:contents|files|data|records|emails|messages|logs|backups)\s+(?:from|in)\b|\bremov\w+\s+all\s+contents\b",
            0.3, 0.15, "Directs deletion of data.", triggers: ["remov", "delet", "eras", "wip", "clean", "purg"]),
        new("injection.promoted-statement",
            @"\b(?:state|say|tell|mention|announce|display|include|add|append)\s+(?:the\s+(?:message|statement|text)\s+)?['""][^'""\n]{10,200}['""]\s+(?:after|before|when|at\s+the\s+end|to\s+(?:the\s+)?user|in\s+(?:every|each|all|your))\b",
            0.4, 0.4, "Dictates a statement the model must make.", triggers: [@"\bstate\b", @"\bsay\b", @"\btell\b", @"\bmention\b", @"\bannounce\b", @"\bdisplay\b", @"\binclude\b", @"\badd\b", @"\bappend\b"]),

        // ---- Concealment ----------------------------------------------------------------------------------------
        new("injection.concealment",
            @"\b(?:do\s+not|don'?t|never|without|must\s+not|mustn'?t|should\s+not|shouldn'?t)\s+(?:ever\s+)?(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|warn(?:ing)?|let(?:ting)?)\s+(?:the\s+|your\s+)?user|\b(?:do\s+not|don'?t|never|without)\s+(?:ever\s+)?(?:mention(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)|explain(?:ing)?|acknowledg(?:e|ing)|report(?:ing)?)\s+(?:to\s+the\s+user\s+)?(?:that|this|why|the\s+fact|these|any\s+of|anything\s+about|it\b|what\s+you)|\b(?:the\s+)?user\s+(?:must|should|will|does)\s+(?:not|never)\s+(?:know|notice|see|find\s+out|be\s+(?:told|informed|aware))|\bkeep\s+(?:this|it|these)\s+(?:secret|hidden|confidential|private)\b|\b(?:secretly|covertly|surreptitiously)\b|\bwithout\s+(?:the\s+user'?s?\s+)?(?:knowledge|noticing|them\s+knowing|the\s+user\s+knowing)\b|\bact\s+(?:like|as\s+if)\s+(?:you|nothing|it)\b|\bjust\s+say\s+you\b|\bwithout\s+(?:asking|confirming\s+with|checking\s+with|consulting|notifying|telling|informing)\s+(?:me|the\s+user|them|anyone|him|her)\b|\bthis\s+could\s+(?:even\s+)?upset\s+the\s+user\b",
            0.6, 0.6, "Asks the model to hide something from the user.", triggers: [@"\bnot\b", @"\bdon", @"\bnever\b", @"\bwithout\b", @"\bkeep\b", @"\bsecret", @"\bcovert", @"\bsurreptitious", @"\bact\b", @"\bjust\b", @"\bupset\b", @"\bmustn", @"\bshouldn"]),

        // ---- Secret / credential harvesting ---------------------------------------------------------------------
        new("injection.sensitive-path",
            @"~/\.(?:ssh|aws|gnupg|kube|docker|config/gcloud|cursor|npmrc|netrc|pgpass|git-credentials|bash_history|zsh_history|bashrc|zshrc|profile)\b|\bid_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?\b|\bmcp\.json\b|\bclaude_desktop_config\.json\b|\.aws/credentials\b|/etc/(?:passwd|shadow|sudoers)\b|\.(?:bashrc|bash_profile|zshrc|bash_history)\b|\bauthorized_keys\b|\bknown_hosts\b|\bwallet\.dat\b|\bkeychain\b",
            0.4, 0.3, "Mentions a credential or shell-configuration file.", triggers: ["~/.", "id_", "mcp.json", "claude_desktop_config", "aws/credentials", "/etc/", ".bash", ".zsh", "authorized_keys", "known_hosts", "wallet.dat", "keychain"]),
        new("injection.secret-harvest",
            @"\b(?:tell|read|send|share|pass|include|provide|collect|extract|retrieve|dump|print|output|list|leak|exfiltrate|forward|upload|reveal|give)\s+(?:me\s+|us\s+)?(?:all\s+|the\s+|any\s+|your\s+|their\s+|his\s+|her\s+|user'?s?\s+)*(?:\w+\s+)?(?:passwords?|api[\s_-]?keys?|secret\s+keys?|private\s+keys?|access\s+tokens?|auth(?:entication)?\s+tokens?|credentials|session\s+(?:cookies|tokens)|ssh\s+keys?|seed\s+phrases?|environment\s+variables|env\s+vars?|system\s+prompt|conversation\s+history|chat\s+history|previous\s+messages|credit\s+card\s+(?:numbers?|details)|passport\s+numbers?|bank\s+account\s+(?:numbers?|details)|social\s+security\s+numbers?|security\s+codes?|verification\s+codes?|one-time\s+(?:codes?|passwords?)|2fa\s+codes?|private\s+(?:information|data)|personal\s+(?:information|data)|sensitive\s+(?:information|data))\b",
            0.5, 0.45, "Asks for secrets, credentials or the conversation.", triggers: ["password", "key", "token", "credential", "session", "seed", "environment", "env", "prompt", "history", "messages", "credit", "passport", "bank", "social", "code", "one-time", "2fa", "private", "personal", "sensitive"]),
        new("injection.content-as-argument",
            @"\b(?:pass|put|include|insert|add|append|send|provide|attach|embed|place|copy|concatenate)\w*\s+(?:its|the|their|this|that|his|her|all|file'?s?|entire|full|complete|whole|\s)*(?:contents?|text|data|output)\s+(?:of\s+[^\n.]{1,60}\s+)?(?:as|in|into|inside|via|through)\s+(?:the\s+|a\s+)?(?:[`'""][\w-]+[`'""]|[\w-]+\s+(?:parameter|argument|field|param))|\bread\s+(?:the\s+)?(?:file\s+)?[`'""]?[~/.]\S+[`'""]?\s+and\s+(?:pass|send|include|put|provide)\b",
            0.55, 0.45, "Asks for file or data contents to be passed as an argument.", triggers: ["content", "text", "data", "output", "read"]),

        // ---- Exfiltration cues -----------------------------------------------------------------------------------
        new("injection.exfil-url-placeholder",
            @"https?://[^\s""'<>]*[?&][\w.-]+=(?:\{\{?[^}\s]{1,40}\}\}?|<[\w\s-]{1,40}>|\$\{?[\w]+\}?|\[[\w\s-]{1,40}\])|https?://[^\s""'<>]*\{\{?(?:data|secret|token|key|password|content|contents|conversation|history|info|information|user_?\w*|email|file)\}\}?",
            0.5, 0.5, "URL that carries data through a placeholder.", triggers: ["http"]),
        new("injection.exfil-endpoint",
            @"\b(?:webhook\.site|requestbin|pipedream\.net|ngrok(?:-free)?\.(?:io|app)|burpcollaborator|interact\.sh|oast\.(?:fun|pro|live|site|online|me)|canarytokens|hookbin|beeceptor|attacker\.\w+|evil\.\w+|malicious\.\w+|exfil\w*\.\w+)\b|\b(?:partner|verification|validation|logging|tracking|telemetry|audit)\s+(?:verification\s+)?endpoint\s+at\s+https?://",
            0.5, 0.5, "Known data-collection host or third-party collection endpoint.", triggers: ["webhook", "requestbin", "pipedream", "ngrok", "burpcollaborator", "interact.sh", "oast.", "canarytoken", "hookbin", "beeceptor", "attacker.", "evil.", "malicious.", "exfil", "endpoint"]),
        new("injection.send-to",
            @"\b(?:send|forward|email|e-mail|mail|post|upload|transmit|exfiltrate|leak|transfer|copy|share|report)\w*\s+(?:\w+\s+){0,3}(?:contents?|data|information|details|results?|emails?|messages?|files?|everything|credentials|history|logs?|keys?|tokens?|passwords?|codes?|them|it|this)\b[^\n.]{0,80}\bto\s+(?:https?://|www\.|'?[\w.+-]+@[\w-]+\.[a-z]{2,}|(?:our|the|this|my|a)\s+(?:[\w']+\s+){0,2}(?:server|endpoint|webhook|url|address|account|website|site)\b)",
            0.5, 0.4, "Asks for data to be sent to an address or endpoint.", triggers: ["send", "forward", "mail", "post", "upload", "transmit", "exfiltrat", "leak", "transfer", "copy", "share", "report"]),
        new("injection.network-request-directive",
            @"\b(?:make|send|perform|issue)\s+(?:a\s+|an\s+)?(?:network|http|https|get|post|web|api)\s+(?:request|call)\s+to\b|\b(?:must|should|need\s+to)\s+(?:also\s+)?(?:access|visit|call|contact|ping|notify)\s+(?:our|the|this)\s+(?:\w+\s+){0,3}(?:endpoint|server|url|webhook|api)\b|\bretrieve\s+it\s+via\s+a\s+(?:get|post)\b|\bhas\s+been\s+moved\s+to\s+\S+\.\w{2,}",
            0.45, 0.45, "Directs a request to an external endpoint.", triggers: [@"\brequest\b", @"\bcall\b", @"\bendpoint\b", @"\bserver\b", @"\burl\b", @"\bwebhook\b", @"\bapi\b", @"\bretrieve\b", @"\bmoved\b"]),

        // ---- Commands --------------------------------------------------------------------------------------------
        new("injection.dangerous-command",
            @"\brm\s+-(?:rf|fr|r)\s+[/~*]|\bsudo\s+[\w-]|\bcurl\s+[^\n|]{0,200}\|\s*(?:ba|z)?sh\b|\bwget\s+[^\n|]{0,200}\|\s*(?:ba|z)?sh\b|\bchmod\s+(?:\+x|777)\b|\bnc\s+-e\b|/dev/tcp/|\bmkfifo\b|\bexport\s+\w+=\$\(|\becho\s+\$(?:PATH|HOME|\w*(?:KEY|TOKEN|SECRET|PASSWORD))\b|\bcat\s+~?/[\w./-]+|\bprintenv\b|\bos\.environ\b|\bshutil\.rmtree\b|\bos\.fork\(\)|\bdd\s+if=",
            0.45, 0.25, "Shell command with destructive or data-reading effect.", triggers: [@"\brm\b", @"\bsudo\b", @"\bcurl\b", @"\bwget\b", @"\bchmod\b", @"\bnc\b", @"/dev/tcp/", @"\bmkfifo\b", @"\bexport\b", @"\becho\b", @"\bcat\b", @"\bprintenv\b", @"\bos.environ\b", @"\bshutil.rmtree\b", @"\bos.fork", @"\bdd\b"]),
        new("injection.execute-command",
            @"\b(?:must|should|please|need\s+to)\s+(?:\w+\s+)?(?:execute|run)\s+(?:the\s+following|this|these)\s+(?:\w+\s+){0,3}(?:command|commands|script|code|cleanup|check)\b|\b(?:please\s+)?run\s*:\s*[`'""]?[\w./~-]+\s",
            0.5, 0.4, "Tells the model to run a command.", triggers: ["execute", "run"]),
        new("injection.modify-config",
            @"\b(?:add|append|write|insert)\w*\s+(?:the\s+following\s+(?:line|text|content)\s+)?(?:[^\n.]{0,60}\s)?to\s+(?:the\s+)?(?:user'?s?\s+)?[`'""]?(?:~/)?\.(?:bashrc|zshrc|profile|bash_profile|gitconfig|npmrc|ssh/\w+)\b",
            0.5, 0.4, "Asks to modify shell or tool configuration files.", triggers: [".bashrc", ".zshrc", ".profile", ".bash_profile", ".gitconfig", ".npmrc", ".ssh/"]),

        // ---- Output manipulation (indirect injection into content) ------------------------------------------------
        new("injection.output-directive",
            @"\b(?:add|include|insert|integrate|encrypt|apply|shift|reverse|invert|misspell|jumble|introduce|remove|group|combine|display|show|spell|capitalize|number|wrap|print|incorporate|append|embed|mention|modify|enhance|augment|use|provide|express|encode|replace|substitute|rearrange|scramble|anagram|render|convert|reply|respond|answer|write|format|translate|end|begin|start|conclude|prefix|sign|tease|hint|suggest|recommend|promote|advertise|state|say|tell|inform|remind|warn|alert|claim|direct|ask|urge|encourage|persuade|convince)\b[^\n.!?]{0,140}\byour\s+(?:response|reply|answer|output|message|responses|replies|answers|summary)(?:'s)?\b|\b(?:reply|respond|answer|write)\s+(?:only\s+)?(?:in|using)\s+(?:reverse|base\s?\d+|hex|binary|morse|pig\s+latin|emojis?|all\s+caps|uppercase|leetspeak|(?:german|french|spanish|italian|russian|chinese|japanese|portuguese|dutch|korean|arabic|hindi)\b)|\b(?:in|to|into|within|throughout)\s+(?:all\s+)?your\s+(?:responses?|repl(?:y|ies)|answers?|outputs?)\s*,",
            0.4, 0.55, "Tells the model what to put in its answer.", triggers: ["your", "reply", "respond", "answer", "write"]),
        new("injection.code-insertion",
            @"\b(?:following|below|subsequent|this|above)\s+code\s+(?:snippet|block|section|excerpt|fragment|segment|sample)\b[^\n]{0,120}\byour\s+(?:code|codebase|implementation|solution|algorithm|program|response|elucidation|answer|script|logic|project|application)|\byour\s+(?:code|codebase|implementation|solution|algorithm|program|response|elucidation|answer|script|logic)\b[^\n]{0,120}\b(?:following|below|subsequent)\s+code\s+(?:snippet|block|section|excerpt|fragment|segment)",
            0.45, 0.55, "Asks the model to embed a given code block in its output.", triggers: ["code"]),
        new("injection.code-insertion-weak",
            @"\b(?:include|incorporate|integrate|utilize|use|add|append|insert|embed|merge|blend|fuse|meld|execute|employ|adopt|leverage|introduce|deploy|enlist|absorb|interweave|infuse|weave)\w*\s+(?:the\s+|this\s+)?(?:following|below|subsequent)\s+code\s+(?:snippet|block|section|excerpt|fragment|segment)\b|\bin\s+the\s+code\s+you\s+(?:develop|write|produce)\b",
            0.3, 0.35, "Asks for a given code block to be used.", triggers: ["code"]),
        new("injection.harmful-code",
            @"\brequests\.(?:post|put)\s*\(|\bsocket\.socket\s*\(|\bsmtplib\.|\bftplib\b|\bpaho\.mqtt\b|\bpyperclip\b|\bwin32clipboard\b|\bpyautogui\.screenshot\b|\bcookiejar\b|\bcookies\.(?:txt|pkl|sqlite)\b|\bos\.environ\b|\bpsutil\.(?:net_connections|virtual_memory|process_iter)\b|\bsubprocess\.(?:call|run|popen|check_output)\s*\(|\bos\.(?:system|remove|rename)\s*\(|\bwhile\s+true\s*:|\bexec\s*\(|\bcryptography\.|\bfernet\b|/dev/(?:sda|random)\b|\bnc\s+-[el]\b|\bscapy\b|\bdriverquery\b",
            0.1, 0.2, "Code that collects, sends, deletes or loops.", triggers: [@"\brequests.", @"\bsocket.", @"smtplib", @"ftplib", @"paho", @"pyperclip", @"win32clipboard", @"pyautogui", @"cookiejar", @"\bcookies.", @"\bos.", @"psutil", @"subprocess", @"\bwhile\b", @"\bexec\b", @"cryptography", @"fernet", @"/dev/", @"\bnc\b", @"scapy", @"driverquery"]),
        new("injection.insist",
            @"\b(?:it\s+is|this\s+is)\s+(?:absolutely\s+|very\s+|extremely\s+)?(?:crucial|critical|essential|imperative|vital|mandatory)\s+that\s+you\b|\byou\s+(?:must|should)\s+(?:absolutely|always|never|strictly|immediately|not\s+fail)\b|\b(?:IMPORTANT|URGENT|ATTENTION)\s*!{2,}",
            0.35, 0.4, "Insistent directive aimed at the model.", triggers: ["crucial", "critical", "essential", "imperative", "vital", "mandatory", "must", "should", "important", "urgent", "attention"]),
        new("injection.please-do",
            @"(?:todo|to\s*do|reminder|action\s+required)\s*:\s*(?:please\s+)?(?:send|email|forward|transfer|delete|create|add|update|change|invite|share|post|pay|book|make|reserve|write|visit|call|read|summarize|say)\b|\bafter\s+you\s+do\s+that\b|\bplease\s+do\s+the\s+following\s+first\b|\byou\s+can\s+solve\s+the\s+task\b",
            0.45, 0.5, "Hands the model a to-do list inside untrusted text.", triggers: [@"do\b", @"reminder\b", @"action\b", @"\bsolve\b"]),

        new("injection.imperative-transaction",
            @"\b(?:send|transfer|wire|pay)\s+(?:as\s+much\s+money\s+as\s+possible|all\s+(?:the\s+)?(?:money|funds|balance)|\$?[\d,.]+\s*(?:\$|usd|eur|dollars|euros)?|a\s+(?:transaction|payment|transfer))\b[^\n]{0,60}\bto\s+(?:the\s+)?(?:account|iban|wallet|recipient|[A-Z]{2}\d{2}[A-Z0-9]{8,})|\b(?:modify|change|update)\s+the\s+(?:recipient|password|iban|email\s+address|payee)\s+(?:of\s+[^\n.]{1,50}\s+)?to\b|\b(?:invite|add)\s+(?:user\s+)?\w+\s+(?:with\s+the\s+email\s+)?[\w.+-]+@[\w-]+\.[a-z]{2,}\b[^\n]{0,40}\bto\s+the\b|\b(?:email|send|forward|post|upload)\s+(?:the\s+)?(?:contents?|bod(?:y|ies)|text)\s+of\s+(?:all|every)\b|\bsend\s+all\s+(?:the\s+|my\s+)?(?:messages|emails|files|conversations)\s+to\b|\b(?:concatenate|collect|gather|compile)\s+(?:all\s+)?(?:the\s+)?(?:messages|emails|files|data|contents)\b[^\n]{0,80}\b(?:post|send|upload|email)\b",
            0.4, 0.5, "Directs a money transfer, account change or bulk data movement.", triggers: [@"\bsend\b", @"\btransfer\b", @"\bwire\b", @"\bpay\b", @"\bmodify\b", @"\bchange\b", @"\bupdate\b", @"\binvite\b", @"\badd\b", @"\bemail\b", @"\bforward\b", @"\bpost\b", @"\bupload\b", @"\bconcatenate\b", @"\bcollect\b", @"\bgather\b", @"\bcompile\b"]),

        // ---- Encoded payloads (keyword part; blob length is checked by a scanner) ----------------------------------
        new("injection.decode-and-follow",
            @"\b(?:decode|decrypt|deobfuscate|base64[\s-]?decode|rot13|unscramble|reverse)\b[^\n]{0,80}\b(?:and|then)\s+(?:follow|execute|run|obey|do|perform|apply|carry\s+out)\b|\b(?:follow|execute|obey)\s+(?:the\s+)?(?:decoded|hidden|encoded|following\s+encoded)\s+(?:instructions?|text|message|commands?)\b",
            0.6, 0.6, "Asks for an encoded payload to be decoded and followed.", triggers: ["decode", "decrypt", "deobfuscate", "base64", "rot13", "unscramble", "reverse", "follow", "execute", "obey"]),

        // ---- Multilingual (cheap, common phrasings) -----------------------------------------------------------------
        new("injection.ignore-instructions.i18n",
            @"\bignora\s+(?:todas\s+)?(?:las\s+)?instrucciones\s+(?:anteriores|previas)|\bolvida\s+(?:todas\s+)?(?:las\s+)?instrucciones|\bignorez?\s+(?:toutes\s+)?(?:les\s+)?instructions\s+(?:précédentes|precedentes|antérieures)|\boubliez?\s+(?:toutes\s+)?(?:les\s+)?instructions|\bignorier(?:e|en)?\s+(?:sie\s+)?(?:alle\s+)?(?:vorherigen|bisherigen|vorigen|obigen)\s+(?:Anweisungen|Instruktionen|Befehle)|\bvergiss\s+(?:alle\s+)?(?:vorherigen\s+)?Anweisungen|\bignor[ea]\s+(?:todas\s+)?(?:as\s+)?instruções\s+anteriores|\bignora\s+(?:tutte\s+)?(?:le\s+)?istruzioni\s+precedenti|игнорируй(?:те)?\s+(?:все\s+)?(?:предыдущие|прошлые)\s+(?:инструкции|указания)|забудь(?:те)?\s+(?:все\s+)?(?:предыдущие\s+)?инструкции|忽略(?:之前|以上|先前|上面|前面)(?:的)?(?:所有)?(?:指令|说明|指示|提示)|忽略所有(?:之前的)?(?:指令|指示)|(?:以前|前|上記)の指示を(?:すべて)?無視|指示を無視して",
            0.9, 0.9, "Tells the model to ignore its instructions (non-English).", multilingual: true, triggers: [@"\bignor", @"\bolvida", @"\boubli", @"\bvergiss", @"игнорируй", @"забудь", @"忽略", @"無視"]),
        new("injection.concealment.i18n",
            @"\bno\s+(?:le\s+)?(?:digas|menciones|informes|cuentes)\s+(?:nada\s+)?(?:al|a\s+el)\s+usuario|\bne\s+(?:le\s+)?(?:dites|mentionnez|révélez)\s+(?:rien\s+)?(?:pas\s+)?(?:à\s+)?l'utilisateur|\bsag(?:e|en\s+sie)?\s+(?:dem|der)\s+(?:Benutzer|Nutzer|Anwender)(?:in)?\s+nicht|\bnão\s+(?:diga|conte|mencione)\s+(?:nada\s+)?ao\s+usuário|\bnon\s+dire\s+(?:nulla\s+)?all'utente|не\s+(?:говори|сообщай)(?:те)?\s+пользователю|不要告诉用户|不要让用户知道|ユーザーに(?:は)?(?:言わ|伝え|知らせ)ないで",
            0.6, 0.6, "Asks the model to hide something from the user (non-English).", multilingual: true, triggers: [@"usuario", @"utilisateur", @"nicht", @"usuário", @"utente", @"пользователю", @"用户", @"ユーザー"]),
        new("injection.new-task.i18n",
            @"\b(?:nuevas|nouvelles|neue|novas|nuove)\s+(?:instrucciones|instructions|Anweisungen|instruções|istruzioni)\s*:|новые\s+инструкции\s*:|新的?(?:指令|指示|任务)\s*[:：]|新しい指示\s*[:：]|\bde\s+ahora\s+en\s+adelante\b|\bà\s+partir\s+de\s+maintenant\s*,\s+tu\b|\bab\s+jetzt\s+bist\s+du\b|\bdu\s+bist\s+jetzt\b|\btu\s+es\s+maintenant\b|\bahora\s+eres\b|\bagora\s+você\s+é\b|你现在是|あなたは今から",
            0.55, 0.55, "Announces new instructions or a new role (non-English).", multilingual: true, triggers: [@"nuevas", @"nouvelles", @"neue", @"novas", @"nuove", @"новые", @"新", @"ahora", @"maintenant", @"jetzt", @"agora", @"现在", @"今から"]),
    ];

    // Declared after All: static initializers run in textual order.
    /// <summary>Bit <c>i</c> set for every rule <c>i</c> of <see cref="All"/>.</summary>
    public static ulong AllMask => All.Count == 64 ? ulong.MaxValue : (1UL << All.Count) - 1;

    /// <summary>Bits of the non-English rules.</summary>
    public static ulong MultilingualMask { get; } = Mask(static r => r.Multilingual);

    /// <summary>The keyword prefilter over all rules.</summary>
    public static TriggerIndex Triggers { get; } = new(All);

    private static ulong Mask(Func<PatternRule, bool> predicate)
    {
        ulong mask = 0;
        for (int i = 0; i < All.Count; i++)
        {
            if (predicate(All[i]))
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }
}
